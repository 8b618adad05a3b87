namespace StreamingLoader.Telemetry;

/// <summary>One stage's totals: items in, time working, time blocked on the next stage (backpressure).</summary>
/// <param name="Stage">The stage.</param>
/// <param name="Items">Samples that entered it.</param>
/// <param name="BusySeconds">Time spent working, summed over workers.</param>
/// <param name="BlockedSeconds">Time spent waiting for room downstream.</param>
public sealed record StageProfile(PipelineStage Stage, long Items, double BusySeconds, double BlockedSeconds)
{
    /// <summary>Gets the working time per sample, in microseconds.</summary>
    public double MicrosecondsPerItem => Items == 0 ? 0 : BusySeconds * 1e6 / Items;

    /// <summary>Gets the messages the stage works on at once (its workers); 0 when not reported.</summary>
    public int Workers { get; init; }

    /// <summary>
    /// Gets the working time per worker: a stage with four workers and 4 s busy is as loaded as one with one worker and
    /// 1 s busy. The stage with the most is the bottleneck.
    /// </summary>
    public double BusySecondsPerWorker => BusySeconds / Math.Max(1, Workers);
}
