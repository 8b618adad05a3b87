namespace StreamingLoader.Sources;

/// <summary>How <see cref="FileTail"/> follows a file.</summary>
/// <remarks>
/// Defaults: <see cref="PollInterval"/> 50 ms, <see cref="IdleTimeout"/> infinite (follow until canceled),
/// <see cref="HasHeader"/> false, <see cref="TimeProvider"/> the system clock.
/// </remarks>
public sealed class TailOptions
{
    private TimeSpan _pollInterval = TimeSpan.FromMilliseconds(50);
    private TimeSpan _idleTimeout = Timeout.InfiniteTimeSpan;
    private TimeProvider _timeProvider = TimeProvider.System;

    /// <summary>Gets or sets how long the tail waits at the end of the file before it looks again. Positive.</summary>
    public TimeSpan PollInterval
    {
        get => _pollInterval;
        set => _pollInterval = LiveTimeouts.Poll(value);
    }

    /// <summary>
    /// Gets or sets how long the file may stay without a new line before the stream ends (a partial last line is
    /// then left unread, for a resume to pick up); <see cref="Timeout.InfiniteTimeSpan"/> follows until canceled.
    /// </summary>
    public TimeSpan IdleTimeout
    {
        get => _idleTimeout;
        set => _idleTimeout = LiveTimeouts.Idle(value);
    }

    /// <summary>
    /// Gets or sets whether each file starts with a header line (CSV): it is kept for the collator, not yielded,
    /// and a new file after a rotation has its own.
    /// </summary>
    public bool HasHeader { get; set; }

    /// <summary>Gets or sets the clock the tail waits with.</summary>
    public TimeProvider TimeProvider
    {
        get => _timeProvider;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            _timeProvider = value;
        }
    }

    internal TailOptions Clone() => (TailOptions)MemberwiseClone();
}
