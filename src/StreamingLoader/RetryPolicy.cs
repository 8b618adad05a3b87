namespace StreamingLoader;

/// <summary>
/// Retries a sample's read or transform that failed with a transient error (a network file system's hiccup, a
/// timed-out fetch), with exponential backoff, before the stage's <see cref="ErrorPolicy"/> decides: a sample that
/// still fails after <see cref="MaxAttempts"/> is skipped or fails the loader like any other error.
/// </summary>
/// <remarks>
/// The wait before retry <c>n</c> is <see cref="InitialDelay"/> × 2^(n−1), at most <see cref="MaxDelay"/>, times a
/// jitter factor in [0.5, 1) drawn from the loader's seed, the sample and the attempt (so a run is reproducible and
/// workers that failed together do not retry together). The wait blocks the worker, as a PyTorch worker's retry
/// would, and ends at once when the loader stops. Retries are counted in <see cref="EpochStatistics.Retried"/>.
/// Samples from an iterable source's enumerator are not retried: an enumerator that threw cannot go on.
/// </remarks>
public sealed class RetryPolicy
{
    private readonly int _maxAttempts = 3;
    private readonly TimeSpan _initialDelay = TimeSpan.FromMilliseconds(10);
    private readonly TimeSpan _maxDelay = TimeSpan.FromSeconds(1);
    private readonly Func<Exception, bool> _isTransient = IsTransientByDefault;

    /// <summary>Gets the attempts per sample, the first included (3 by default). At least 2.</summary>
    public int MaxAttempts
    {
        get => _maxAttempts;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 2);
            _maxAttempts = value;
        }
    }

    /// <summary>Gets the wait before the first retry (10 ms by default).</summary>
    public TimeSpan InitialDelay
    {
        get => _initialDelay;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            _initialDelay = value;
        }
    }

    /// <summary>Gets the longest wait between attempts (1 second by default).</summary>
    public TimeSpan MaxDelay
    {
        get => _maxDelay;
        init
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            _maxDelay = value;
        }
    }

    /// <summary>
    /// Gets which errors are worth another attempt. By default <see cref="IsTransientByDefault"/>: a user marks their
    /// own transient errors by giving a predicate of their own.
    /// </summary>
    public Func<Exception, bool> IsTransient
    {
        get => _isTransient;
        init
        {
            ArgumentNullException.ThrowIfNull(value);
            _isTransient = value;
        }
    }

    /// <summary>
    /// The default <see cref="IsTransient"/>: a <see cref="TimeoutException"/>, or an <see cref="IOException"/> other
    /// than a missing file or directory or a truncated stream (those do not heal by waiting).
    /// </summary>
    public static bool IsTransientByDefault(Exception error) =>
        error is TimeoutException
        || (error is IOException && error is not (FileNotFoundException or DirectoryNotFoundException or EndOfStreamException));

    /// <summary>The wait before retry number <paramref name="retry"/> (1 for the second attempt) of a sample.</summary>
    internal TimeSpan DelayBefore(int retry, ulong seed, long epoch, long sampleIndex)
    {
        var exponential = _initialDelay.Ticks * Math.Pow(2, Math.Min(retry - 1, 62));
        var capped = Math.Min(exponential, _maxDelay.Ticks);
        var jitter = 0.5 + (0.5 * new CounterRandom(seed, epoch, sampleIndex, RetryStream + (ulong)retry).NextDouble());
        return TimeSpan.FromTicks((long)(capped * jitter));
    }

    // The random stream of retry jitter, apart from the streams a user's transforms draw from.
    private const ulong RetryStream = 0x5245_5452_5900_0000;
}
