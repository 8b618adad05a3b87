using System.Globalization;

namespace StreamingLoader.Telemetry;

/// <summary>A pipeline's totals over a window and what they say about its bottleneck (<see cref="Verdict"/>).</summary>
/// <param name="Pipeline">The pipeline's name.</param>
/// <param name="Stages">Per-stage totals, busiest per worker first.</param>
/// <param name="ConsumerWaitSeconds">Time the consumer waited for batches.</param>
/// <param name="ConsumerStepSeconds">Time the consumer spent on batches.</param>
public sealed record PipelineProfile(string Pipeline, IReadOnlyList<StageProfile> Stages, double ConsumerWaitSeconds, double ConsumerStepSeconds)
{
    /// <summary>Gets the wall time the profile covers, in seconds.</summary>
    public double ElapsedSeconds { get; init; }

    /// <summary>Gets the part of <see cref="ConsumerWaitSeconds"/> after the batch was ready: the consumer's continuation waited for a thread.</summary>
    public double ConsumerDispatchSeconds { get; init; }

    /// <summary>Gets the CPU time the whole process used, in seconds.</summary>
    public double CpuSeconds { get; init; }

    /// <summary>Gets the cores the process may use (processor count, capped by a readable cgroup quota).</summary>
    public double CoresAvailable { get; init; }

    /// <summary>Gets the time the process's threads waited for a CPU, summed over threads (0 where the system does not say).</summary>
    public double CpuWaitSeconds { get; init; }

    /// <summary>Gets the average number of work items queued in the thread pool.</summary>
    public double ThreadPoolQueue { get; init; }

    /// <summary>Gets the time the source waited while finished batches waited for the consumer (the loader was ahead).</summary>
    public double SourceWaitForConsumerSeconds { get; init; }

    /// <summary>Gets the time the source waited while the stages' work was unfinished (no batch was ready).</summary>
    public double SourceWaitForStagesSeconds { get; init; }

    /// <summary>Gets the stage that worked longest per worker (the most loaded), or null before any work.</summary>
    public StageProfile? SlowestStage => Stages.Count > 0 ? Stages[0] : null;

    /// <summary>Gets the steps (tokens) of variable-length fields delivered as data.</summary>
    public long SequenceSteps { get; init; }

    /// <summary>Gets the steps (tokens) of variable-length fields delivered as padding.</summary>
    public long PaddingSteps { get; init; }

    /// <summary>Gets the share of variable-length fields' steps that was padding, from 0 to 1; 0 without such fields.</summary>
    public double PaddingFraction => SequenceSteps + PaddingSteps > 0 ? PaddingSteps / (double)(SequenceSteps + PaddingSteps) : 0;

    /// <summary>Gets the share of the consumer's time spent waiting for data (GPU starvation), from 0 to 1.</summary>
    public double ConsumerWaitShare => ConsumerWaitSeconds + ConsumerStepSeconds > 0 ? ConsumerWaitSeconds / (ConsumerWaitSeconds + ConsumerStepSeconds) : 0;

    /// <summary>Gets these totals as the rates <see cref="BottleneckVerdict.Decide"/> takes.</summary>
    public BottleneckEvidence Evidence
    {
        get
        {
            var elapsed = ElapsedSeconds > 0 ? ElapsedSeconds : double.PositiveInfinity;
            var consumer = ConsumerWaitSeconds + ConsumerStepSeconds;
            return new BottleneckEvidence
            {
                ConsumerWaitShare = ConsumerWaitShare,
                ConsumerDispatchShare = consumer > 0 ? ConsumerDispatchSeconds / consumer : 0,
                ConsumerSecondsPerSecond = consumer / elapsed,
                CoresAvailable = CoresAvailable,
                CoresUsed = CpuSeconds / elapsed,
                ThreadsWaitingForCpu = CpuWaitSeconds / elapsed,
                ThreadPoolQueue = ThreadPoolQueue,
                StageUtilisation = Stages
                    .Where(s => s.Stage is not PipelineStage.Source and not PipelineStage.Prefetch)
                    .ToDictionary(s => s.Stage, s => s.BusySecondsPerWorker / elapsed),
                SourceBlockedShare = (Stages.FirstOrDefault(s => s.Stage == PipelineStage.Source)?.BlockedSeconds ?? 0) / elapsed,
            };
        }
    }

    /// <summary>Gets what limits the consumer, by the rule the dashboard's verdict panel uses too.</summary>
    public BottleneckVerdict Verdict => BottleneckVerdict.Decide(Evidence);

    /// <summary>The verdict, then the slowest stage's cost per sample, where the source's waits went and the padding fraction.</summary>
    public override string ToString()
    {
        var slowest = SlowestStage;
        var stage = slowest is null
            ? "no stage worked yet"
            : string.Create(CultureInfo.InvariantCulture, $"slowest stage: {slowest.Stage.Tag()} ({slowest.BusySeconds:F2} s busy over {Math.Max(1, slowest.Workers)} worker(s), {slowest.MicrosecondsPerItem:F2} µs/sample)");
        var padding = SequenceSteps + PaddingSteps > 0
            ? string.Create(CultureInfo.InvariantCulture, $" Padding: {PaddingFraction:P1} of {SequenceSteps + PaddingSteps:N0} sequence steps.")
            : "";
        return string.Create(CultureInfo.InvariantCulture, $"{Verdict} In figures: {stage}; the source waited {SourceWaitForConsumerSeconds:F2} s for the consumer and {SourceWaitForStagesSeconds:F2} s for the stages, over {ElapsedSeconds:F1} s.{padding}");
    }
}
