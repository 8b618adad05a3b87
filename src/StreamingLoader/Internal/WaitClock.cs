namespace StreamingLoader.Internal;

/// <summary>
/// Time spent in waits, summed over concurrent waiters, with waits still in progress counted up to the moment of
/// reading: a wait longer than the scrape interval is spread over the scrapes it spans instead of landing in one (where
/// a rate would show more than 100 %).
/// </summary>
internal sealed class WaitClock
{
    private readonly Lock _lock = new();
    private TimeProvider? _time;
    private long _endedTicks;
    private int _waiting;
    private long _waitStartSum;
    private long _reportedTicks;

    /// <summary>Starts a wait; <see cref="BlockedTimer.Stop"/> ends it.</summary>
    public BlockedTimer Start(TimeProvider time)
    {
        var start = time.GetTimestamp();
        lock (_lock)
        {
            _time = time;
            _waiting++;
            _waitStartSum += start;
        }

        return new BlockedTimer(this, time, start);
    }

    /// <summary>
    /// Waiting time so far, in seconds: ended waits plus the part of those in progress. Never less than the value read
    /// before (a counter that went down would read as a restart).
    /// </summary>
    public double Seconds()
    {
        lock (_lock)
        {
            var ticks = _endedTicks;
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

    internal void Stop(TimeProvider time, long start)
    {
        var ended = time.GetElapsedTime(start).Ticks;
        lock (_lock)
        {
            _waiting--;
            _waitStartSum -= start;
            _endedTicks += ended;
        }
    }
}
