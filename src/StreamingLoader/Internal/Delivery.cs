namespace StreamingLoader.Internal;

/// <summary>What reaches the consumer: a batch, an empty chunk (all skipped), an epoch's end with its chunk count, or an error.</summary>
/// <remarks>
/// <paramref name="Sequence"/> is the chunk's place in its epoch; <paramref name="DeadLetters"/> the samples of that chunk
/// dropped under the skip policy, made public when the consumer passes the chunk (so a resumed loader does not repeat them).
/// <paramref name="ReadAt"/> is when a live source's oldest sample in it was read (0 for a dataset), <paramref name="ReadyAt"/>
/// when the batch was finished (both <see cref="TimeProvider"/> timestamps).
/// </remarks>
internal readonly record struct Delivery(Batch? Batch, long Epoch, DeliveryKind Kind, DataLoaderException? Error = null, int Chunks = 0, int Sequence = 0, List<DeadLetter>? DeadLetters = null, long ReadAt = 0, long ReadyAt = 0);
