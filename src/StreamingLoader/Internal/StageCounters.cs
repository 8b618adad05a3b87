namespace StreamingLoader.Internal;

/// <summary>One stage's running totals.</summary>
internal sealed class StageCounters
{
#pragma warning disable CA1051 // Fields, so that the hot paths can add to them with Interlocked.
    public long ItemsIn;
    public long ItemsOut;
#pragma warning restore CA1051

    private readonly WaitClock _blocked = new();

    /// <summary>Starts a wait for room downstream; waits in progress count in <see cref="BlockedSeconds"/> up to now.</summary>
    public BlockedTimer StartBlocked(TimeProvider time) => _blocked.Start(time);

    /// <summary>Blocked time so far, in seconds (see <see cref="WaitClock.Seconds"/>).</summary>
    public double BlockedSeconds() => _blocked.Seconds();
}
