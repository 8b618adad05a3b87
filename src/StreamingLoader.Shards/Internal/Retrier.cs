namespace StreamingLoader.Shards.Internal;

/// <summary>
/// Runs a storage request under a <see cref="RetryPolicy"/>: a transient failure is tried again after the policy's
/// exponential backoff (jittered), up to its attempts; the last error names the shard and the attempts.
/// </summary>
internal sealed class Retrier(RetryPolicy policy, TimeProvider time)
{
    private const ulong JitterStream = 0x5348_4152_4452_5452; // "SHARDRTR"
    private long _retries;

    /// <summary>Gets how many retries were made.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    public async Task<T> RunAsync<T>(Func<int, Task<T>> attempt, string what, CancellationToken cancellationToken)
    {
        for (var n = 1; ; n++)
        {
            try
            {
                return await attempt(n).ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is not OperationCanceledException)
            {
                if (n >= policy.MaxAttempts || !policy.IsTransient(ex))
                {
                    if (n > 1)
                    {
                        throw new IOException($"{what} failed after {n} attempts: {ex.Message}", ex);
                    }

                    throw;
                }

                Interlocked.Increment(ref _retries);
                await Task.Delay(Delay(n, what), time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>InitialDelay × 2^(n−1), at most MaxDelay, times a jitter in [0.5, 1) keyed on the request and attempt.</summary>
    private TimeSpan Delay(int retry, string what)
    {
        var exponential = policy.InitialDelay.Ticks * Math.Pow(2, Math.Min(retry - 1, 62));
        var capped = Math.Min(exponential, policy.MaxDelay.Ticks);
        var jitter = 0.5 + (0.5 * new CounterRandom((ulong)string.GetHashCode(what, StringComparison.Ordinal), retry, Environment.ProcessId, JitterStream).NextDouble());
        return TimeSpan.FromTicks((long)(capped * jitter));
    }
}
