namespace StreamingLoader.Batching;

/// <summary>
/// What integrations do with a batch's lease beyond reading and disposing it: a broker acknowledging the messages a
/// batch holds once the consumer is done with it, a tensor library keeping the memory it wraps until it frees it.
/// </summary>
public static class BatchLease
{
    /// <summary>
    /// Registers <paramref name="callback"/> to run once when <paramref name="batch"/>'s lease ends, just before the buffer goes back to
    /// the pool: with <c>true</c> when the consumer received the batch and disposed it, <c>false</c> when the loader
    /// reclaimed it undelivered (a failed or stopped pipeline). Collators of live sources use it to acknowledge the
    /// samples a batch holds only once the consumer is done with them. Call it while writing the batch (in a collator);
    /// keep the callback short and non-blocking: it runs on the thread that disposes the batch.
    /// </summary>
    public static void OnRelease(Batch batch, Action<object?, bool> callback, object? state)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.OnRelease(callback, state);
    }

    /// <summary>
    /// Keeps the buffer out of the pool until the returned handle is disposed, even after the batch is disposed:
    /// for a tensor library that wraps the memory and frees it later (a libtorch storage deleter). The batch's own
    /// members still throw after <see cref="Batch.Dispose"/>; the memory at <see cref="BatchTensor.Pointer"/> stays valid.
    /// </summary>
    /// <returns>A handle whose <see cref="IDisposable.Dispose"/> (idempotent) releases this hold.</returns>
    /// <exception cref="ObjectDisposedException">The batch was already disposed.</exception>
    public static IDisposable Retain(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return batch.Retain();
    }
}
