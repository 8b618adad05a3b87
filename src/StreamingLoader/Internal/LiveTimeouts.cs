namespace StreamingLoader.Internal;

/// <summary>The checks the live sources' options share.</summary>
internal static class LiveTimeouts
{
    /// <summary>A positive poll interval.</summary>
    public static TimeSpan Poll(TimeSpan value)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(value, TimeSpan.Zero);
        return value;
    }

    /// <summary>An idle timeout: zero or more, or <see cref="Timeout.InfiniteTimeSpan"/>.</summary>
    public static TimeSpan Idle(TimeSpan value)
    {
        if (value != Timeout.InfiniteTimeSpan)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
        }

        return value;
    }

    public static bool Expired(this TimeProvider time, long since, TimeSpan idleTimeout) =>
        idleTimeout != Timeout.InfiniteTimeSpan && time.GetElapsedTime(since) >= idleTimeout;
}
