namespace StreamingLoader.Sources;

/// <summary>How <see cref="FileTail"/> follows a file.</summary>
/// <remarks>
/// Defaults: <see cref="PollInterval"/> 50 ms, <see cref="IdleTimeout"/> infinite (follow until canceled),
/// <see cref="HasHeader"/> false, <see cref="RotatedNames"/> null (the file's name, a dot and anything),
/// <see cref="TimeProvider"/> the system clock.
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

    /// <summary>
    /// Gets or sets the names the file takes when it is rotated, as a pattern of file names in its folder (<c>*</c>
    /// and <c>?</c>). After a rotated file is read to its end, the tail reads the rotated files younger than it that
    /// it has not read (oldest first: created first, where the filesystem records creation, else last written first),
    /// then the file at the path; files are known by device and inode, not by name, as Filebeat's registry knows them,
    /// so a file rotated twice while the tail was stopped or behind is read, not skipped. Compressed names (<c>.gz</c>,
    /// <c>.bz2</c>, <c>.xz</c>, <c>.zst</c>, <c>.zip</c>, <c>.lz4</c>, <c>.Z</c>) are left out. Null (the default)
    /// means the file's name followed by a dot and anything (<c>events.jsonl.1</c>, <c>events.jsonl.2024-06-01</c>);
    /// empty follows the path alone, as <c>tail -F</c> does.
    /// </summary>
    /// <remarks>
    /// What no tail can read is a file that is gone before it gets there: deleted, compressed, or renamed to a name
    /// outside the pattern. With an empty pattern that includes the file between two rotations that fall between two
    /// looks at the path (<see cref="PollInterval"/>, or a consumer that fell behind): <c>tail -F</c>'s one loss.
    /// A resume position whose own file is gone is an error that says so, not a silent jump to the file at the path.
    /// </remarks>
    public string? RotatedNames { get; set; }

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
