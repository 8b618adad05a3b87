using System.Runtime.InteropServices;

namespace StreamingLoader.Internal;

/// <summary>A wait in progress, from <see cref="WaitClock.Start"/>; <see cref="Stop"/> ends it once.</summary>
[StructLayout(LayoutKind.Auto)]
internal readonly struct BlockedTimer
{
    private readonly WaitClock _clock;
    private readonly TimeProvider _time;
    private readonly long _start;

    internal BlockedTimer(WaitClock clock, TimeProvider time, long start)
    {
        _clock = clock;
        _time = time;
        _start = start;
    }

    /// <summary>Ends the wait: its whole time moves into the clock's ended waits.</summary>
    public void Stop() => _clock.Stop(_time, _start);
}
