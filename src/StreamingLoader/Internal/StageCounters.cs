namespace StreamingLoader.Internal;

/// <summary>One stage's running totals.</summary>
internal sealed class StageCounters
{
#pragma warning disable CA1051 // Fields, so that the hot paths can add to them with Interlocked.
    public long ItemsIn;
    public long ItemsOut;

    /// <summary>Blocked time of waits that have ended, in <see cref="TimeSpan"/> ticks.</summary>
    public long BlockedTicks;
#pragma warning restore CA1051

    private readonly Lock _blocked = new();
    private TimeProvider? _time;
    private int _waiting;
    private long _waitStartSum;
    private long _reportedTicks;

    /// <summary>
    /// Starts a wait for room downstream. Until it stops, <see cref="BlockedSeconds"/> counts it up to the moment of
    /// reading, so a wait longer than the scrape interval is spread over the scrapes it spans instead of landing in
    /// one (where a rate would show more than 100 % blocked).
    /// </summary>
    public BlockedTimer StartBlocked(TimeProvider time)
    {
        var start = time.GetTimestamp();
        lock (_blocked)
        {
            _time = time;
            _waiting++;
            _waitStartSum += start;
        }

        return new BlockedTimer(this, time, start);
    }

    /// <summary>
    /// Blocked time so far, in seconds: ended waits plus the part of those in progress. Never less than the value
    /// read before (a counter that went down would read as a restart).
    /// </summary>
    public double BlockedSeconds()
    {
        lock (_blocked)
        {
            var ticks = Interlocked.Read(ref BlockedTicks);
            if (_waiting > 0 && _time is { } time)
            {
                // Σ (now − start) over the waits in progress, converted from timestamp units to TimeSpan ticks.
                var elapsed = (_waiting * time.GetTimestamp()) - _waitStartSum;
                ticks += (long)(elapsed * ((double)TimeSpan.TicksPerSecond / time.TimestampFrequency));
            }

            _reportedTicks = Math.Max(_reportedTicks, ticks);
            return TimeSpan.FromTicks(_reportedTicks).TotalSeconds;
        }
    }

    internal void StopBlocked(TimeProvider time, long start)
    {
        var ended = time.GetElapsedTime(start).Ticks;
        lock (_blocked)
        {
            _waiting--;
            _waitStartSum -= start;
            Interlocked.Add(ref BlockedTicks, ended);
        }
    }
}
