namespace StreamingLoader.Sources;

/// <summary>How a <see cref="FolderWatch"/> looks for new files.</summary>
/// <remarks>
/// Defaults: <see cref="Pattern"/> "*", <see cref="PollInterval"/> 100 ms, <see cref="StableFor"/> 500 ms,
/// <see cref="IdleTimeout"/> infinite, <see cref="TemporarySuffixes"/> .tmp .temp .part .partial .crdownload .swp
/// .filepart (and names starting with '.' or '~' are always temporary), <see cref="TimeProvider"/> the system clock.
/// </remarks>
public sealed class FolderWatchOptions
{
    private string _pattern = "*";
    private TimeSpan _pollInterval = TimeSpan.FromMilliseconds(100);
    private TimeSpan _stableFor = TimeSpan.FromMilliseconds(500);
    private TimeSpan _idleTimeout = Timeout.InfiniteTimeSpan;
    private IReadOnlyList<string> _temporarySuffixes = [".tmp", ".temp", ".part", ".partial", ".crdownload", ".swp", ".filepart"];
    private TimeProvider _timeProvider = TimeProvider.System;

    /// <summary>Gets or sets the file name pattern (as <see cref="Directory.EnumerateFiles(string, string)"/> takes it).</summary>
    public string Pattern
    {
        get => _pattern;
        set
        {
            ArgumentException.ThrowIfNullOrEmpty(value);
            _pattern = value;
        }
    }

    /// <summary>Gets or sets how often the folder is listed. Positive.</summary>
    public TimeSpan PollInterval
    {
        get => _pollInterval;
        set => _pollInterval = LiveTimeouts.Poll(value);
    }

    /// <summary>
    /// Gets or sets how long a file's size and modification time must stay the same before it counts as complete:
    /// longer than the longest pause of the slowest producer that writes in place. Producers that write under a
    /// temporary name and rename when done need no wait (set it to zero).
    /// </summary>
    public TimeSpan StableFor
    {
        get => _stableFor;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            _stableFor = value;
        }
    }

    /// <summary>
    /// Gets or sets how long the folder may go without a new complete file before the stream ends;
    /// <see cref="Timeout.InfiniteTimeSpan"/> watches until canceled.
    /// </summary>
    public TimeSpan IdleTimeout
    {
        get => _idleTimeout;
        set => _idleTimeout = LiveTimeouts.Idle(value);
    }

    /// <summary>Gets or sets the name endings of files still being written (compared ignoring case).</summary>
    public IReadOnlyList<string> TemporarySuffixes
    {
        get => _temporarySuffixes;
        set => _temporarySuffixes = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Gets or sets the clock the watch waits with.</summary>
    public TimeProvider TimeProvider
    {
        get => _timeProvider;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            _timeProvider = value;
        }
    }

    internal bool IsTemporary(string name) =>
        name.StartsWith('.') || name.StartsWith('~') || _temporarySuffixes.Any(suffix => name.EndsWith(suffix, StringComparison.OrdinalIgnoreCase));

    internal FolderWatchOptions Clone()
    {
        var clone = (FolderWatchOptions)MemberwiseClone();
        clone._temporarySuffixes = [.. _temporarySuffixes];
        return clone;
    }
}
