namespace StreamingLoader.Internal;

/// <summary>
/// The autotuner's thresholds and windows. A change is judged only on a window of enough batches and time after the
/// pipeline settled from the previous one (hysteresis); a move that did not pay is undone and not tried again for a
/// cool-down that doubles with each failure, unless the measured conditions change.
/// </summary>
internal sealed record AutotuneSettings
{
    /// <summary>Gets how often the loop samples the counters.</summary>
    public TimeSpan Tick { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Gets the time after a change before its window starts (the queues refill or drain).</summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromMilliseconds(150);

    /// <summary>Gets the batches after a change before its window starts.</summary>
    public int SettleBatches { get; init; } = 2;

    /// <summary>Gets the shortest window a decision is made on.</summary>
    public TimeSpan MinWindow { get; init; } = TimeSpan.FromMilliseconds(400);

    /// <summary>Gets the fewest batches a decision is made on, unless the window reaches <see cref="MaxWindow"/>.</summary>
    public int MinBatches { get; init; } = 8;

    /// <summary>
    /// Gets the longest window: slow batches are judged on fewer of them (at least <see cref="MinBatchesLong"/>), and a
    /// larger setting whose gain is still within the noise is judged on a window this long before it is undone.
    /// </summary>
    public TimeSpan MaxWindow { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Gets the fewest batches a window of <see cref="MaxWindow"/> is judged on; with fewer, nothing is decided.</summary>
    public int MinBatchesLong { get; init; } = 3;

    /// <summary>
    /// Gets the fewest batches each block of ticks holds when the spread of samples/s is measured: samples arrive a
    /// batch at a time, so a tick that holds none says nothing about the noise (with fast batches each tick is a block).
    /// </summary>
    public int BatchesPerBlock { get; init; } = 2;

    /// <summary>
    /// Gets the fewest batches a window is decided on when the consumer is clearly starved (waits at least
    /// <see cref="ClearlyStarved"/> of the time, workers at least <see cref="ClearlyBusy"/> busy) and no change is
    /// being judged: slow batches (a few a second) would otherwise wait <see cref="MaxWindow"/> for the first move.
    /// </summary>
    public int MinBatchesStarved { get; init; } = 3;

    /// <summary>Gets the consumer's share of time waiting from which it is clearly starved.</summary>
    public double ClearlyStarved { get; init; } = 0.5;

    /// <summary>Gets the workers' share of time busy from which they are all busy.</summary>
    public double ClearlyBusy { get; init; } = 0.9;

    /// <summary>Gets the share of time the consumer waits above which the loader is the bottleneck.</summary>
    public double Starved { get; init; } = 0.05;

    /// <summary>
    /// Gets how many standard errors of the wait share (from its ticks) the window's wait must stay above
    /// <see cref="Starved"/> to count as starved: a consumer that waits a little now and then is not starved.
    /// </summary>
    public double StarvedSigmas { get; init; } = 2;

    /// <summary>Gets the share of time the workers work above which more workers may help.</summary>
    public double Busy { get; init; } = 0.75;

    /// <summary>Gets the gain in samples/s that a larger setting must bring to be kept.</summary>
    public double Gain { get; init; } = 0.05;

    /// <summary>Gets the loss in samples/s that a smaller setting may cost and still be kept.</summary>
    public double Loss { get; init; } = 0.05;

    /// <summary>
    /// Gets how many standard errors of the difference in samples/s (estimated from the spread of the ticks in both
    /// windows) a change's gain must exceed to count, and its loss may reach and still count as none. Windows hold few
    /// ticks (4 at the shortest), so the estimate itself is rough: 3 keeps noise from passing for a gain.
    /// </summary>
    public double NoiseSigmas { get; init; } = 3;

    /// <summary>Gets how many workers a smaller setting keeps per worker busy on average.</summary>
    public double Headroom { get; init; } = 1.5;

    /// <summary>Gets the first cool-down after a move that did not pay; it doubles with each failure, up to <see cref="MaxCooldown"/>.</summary>
    public TimeSpan Cooldown { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Gets the longest cool-down.</summary>
    public TimeSpan MaxCooldown { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Gets the factor by which the work per sample or the consumer's step must change to end a cool-down early.</summary>
    public double ConditionsChanged { get; init; } = 1.5;

    public static AutotuneSettings Default { get; } = new();
}
