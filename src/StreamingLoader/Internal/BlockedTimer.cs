using System.Runtime.InteropServices;

namespace StreamingLoader.Internal;

/// <summary>A wait for room downstream, from <see cref="StageCounters.StartBlocked"/>; <see cref="Stop"/> ends it once.</summary>
[StructLayout(LayoutKind.Auto)]
internal readonly struct BlockedTimer
{
    private readonly StageCounters _counters;
    private readonly TimeProvider _time;
    private readonly long _start;

    internal BlockedTimer(StageCounters counters, TimeProvider time, long start)
    {
        _counters = counters;
        _time = time;
        _start = start;
    }

    /// <summary>Ends the wait: its whole time moves into <see cref="StageCounters.BlockedTicks"/>.</summary>
    public void Stop() => _counters.StopBlocked(_time, _start);
}
