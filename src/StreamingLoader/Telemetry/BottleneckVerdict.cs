using System.Globalization;

namespace StreamingLoader.Telemetry;

/// <summary>
/// Which part limits a pipeline's consumer, by one rule that the CLI's end-of-run verdict
/// (<see cref="PipelineProfile.Verdict"/>) and the dashboard's verdict panel (the same thresholds in PromQL) share:
/// <list type="number">
/// <item><b>CPU</b> first: the process used at least <see cref="CpuUseThreshold"/> of its cores, or its threads queued for a
/// CPU (<see cref="CpuWaitThreshold"/> threads per core), or work queued in the thread pool
/// (<see cref="ThreadPoolQueueThreshold"/> items per core), or the consumer waited <see cref="DispatchThreshold"/> of its
/// time for a thread after its batch was ready. Short of CPU, every part slows and no stage's figures can be trusted
/// to point elsewhere; more workers make it worse.</item>
/// <item><b>Consumer</b>: the consumer waited less than <see cref="ConsumerWaitThreshold"/> of its time: the loader keeps up.</item>
/// <item><b>Stage</b>: the busiest stage's workers were busy at least <see cref="StageBusyThreshold"/> of the time.</item>
/// <item><b>Source</b>: the source was blocked less than <see cref="SourceBlockedThreshold"/> of the time: it reads slower than the consumer takes.</item>
/// <item>Otherwise <b>unclear</b>: the consumer waits on latency, not on a saturated part.</item>
/// </list>
/// </summary>
/// <param name="Kind">What limits the consumer.</param>
/// <param name="Stage">The stage, for <see cref="BottleneckKind.Stage"/>; the busiest stage otherwise, or null.</param>
/// <param name="Evidence">What it was decided from.</param>
public sealed record BottleneckVerdict(BottleneckKind Kind, PipelineStage? Stage, BottleneckEvidence Evidence)
{
    /// <summary>Share of its cores the process uses at which it is short of CPU: 0.9.</summary>
    public const double CpuUseThreshold = 0.9;

    /// <summary>
    /// Threads waiting for a CPU, per core, at which the process is short of CPU: 1, as many of its threads queued for a
    /// CPU as it has cores. A busy machine puts a little wait on any process (a thread that spins for work yields and
    /// queues): a process that sleeps 20 ms per sample measured 0.5 per core beside a loaded machine, one among eight
    /// busy processes on its core 4.7.
    /// </summary>
    public const double CpuWaitThreshold = 1;

    /// <summary>Work items queued in the thread pool, per core, at which the process is short of threads: 1.</summary>
    public const double ThreadPoolQueueThreshold = 1;

    /// <summary>Share of the consumer's time waiting for a thread after its batch was ready at which the process is short of CPU or threads: 0.1.</summary>
    public const double DispatchThreshold = 0.1;

    /// <summary>Share of its time the consumer waits below which the loader keeps up: 0.1.</summary>
    public const double ConsumerWaitThreshold = 0.1;

    /// <summary>Utilisation at which a stage is saturated: 0.8.</summary>
    public const double StageBusyThreshold = 0.8;

    /// <summary>Blocked share below which the source, not the stages, is behind: 0.5.</summary>
    public const double SourceBlockedThreshold = 0.5;

    /// <summary>Decides the verdict from <paramref name="evidence"/>.</summary>
    public static BottleneckVerdict Decide(BottleneckEvidence evidence)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        PipelineStage? busiest = evidence.StageUtilisation.Count == 0 ? null : evidence.StageUtilisation.MaxBy(s => s.Value).Key;
        var kind = evidence.ConsumerSecondsPerSecond <= 0 ? BottleneckKind.None
            : IsShortOfCpu(evidence) ? BottleneckKind.Cpu
            : evidence.ConsumerWaitShare < ConsumerWaitThreshold ? BottleneckKind.Consumer
            : busiest is { } stage && evidence.StageUtilisation[stage] >= StageBusyThreshold ? BottleneckKind.Stage
            : evidence.SourceBlockedShare < SourceBlockedThreshold ? BottleneckKind.Source
            : BottleneckKind.Unclear;
        return new BottleneckVerdict(kind, busiest, evidence);
    }

    /// <summary>Gets whether the evidence says the process is short of CPU or threads (the rule's first step).</summary>
    public static bool IsShortOfCpu(BottleneckEvidence evidence)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        return evidence.CpuUse >= CpuUseThreshold
            || evidence.CpuWait >= CpuWaitThreshold
            || (evidence.CoresAvailable > 0 && evidence.ThreadPoolQueue / evidence.CoresAvailable >= ThreadPoolQueueThreshold)
            || evidence.ConsumerDispatchShare >= DispatchThreshold;
    }

    /// <summary>The verdict in a sentence, with the figures it rests on and what to do about it.</summary>
    public override string ToString()
    {
        var e = Evidence;
        var cpu = Invariant($"CPU {e.CoresUsed:F2} of {e.CoresAvailable:F2} cores, {e.ThreadsWaitingForCpu:F2} threads waiting for a CPU, thread-pool queue {e.ThreadPoolQueue:F1}");
        var busiest = Stage is not { } stage ? "no stage worked" : Invariant($"busiest stage {stage.Tag()} {e.StageUtilisation[stage]:P0}");
        var consumer = Invariant($"consumer waited {e.ConsumerWaitShare:P1} of its time ({e.ConsumerDispatchShare:P1} for a thread after its batch was ready)");
        return Kind switch
        {
            BottleneckKind.Cpu => $"CPU: the process is short of CPU or threads, so every part slows; more workers make it worse: give it more cores, run less beside it or make the work cheaper ({cpu}; {consumer}; {busiest}).",
            BottleneckKind.Consumer => $"consumer: the loader keeps up; the training step is the limit ({consumer}; {cpu}).",
            BottleneckKind.Stage => $"{Stage?.Tag()}: its workers are busy nearly all the time while the consumer waits; give it more workers or make its work cheaper ({busiest}; {consumer}; {cpu}).",
            BottleneckKind.Source => Invariant($"source: the consumer waits, no stage is saturated and the source is blocked only {e.SourceBlockedShare:P0} of the time: it reads slower than the consumer takes (storage or the live input) ({consumer}; {busiest})."),
            BottleneckKind.Unclear => $"unclear: the consumer waits but neither CPU, a stage nor the source is saturated: latency, not throughput; raise Prefetch or Workers ({consumer}; {busiest}; {cpu}).",
            _ => "none: the consumer has not read yet.",
        };
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
