using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;

namespace StreamingLoader.Telemetry;

/// <summary>A pipeline's totals and what they say about its bottleneck.</summary>
/// <param name="Pipeline">The pipeline's name.</param>
/// <param name="Stages">Per-stage totals, busiest per worker first.</param>
/// <param name="ConsumerWaitSeconds">Time the consumer waited for batches.</param>
/// <param name="ConsumerStepSeconds">Time the consumer spent on batches.</param>
public sealed record PipelineProfile(string Pipeline, IReadOnlyList<StageProfile> Stages, double ConsumerWaitSeconds, double ConsumerStepSeconds)
{
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

    /// <summary>A one-paragraph verdict: the slowest stage and whether the consumer or the loader is the bottleneck.</summary>
    public override string ToString()
    {
        var slowest = SlowestStage;
        var stage = slowest is null
            ? "no stage worked yet"
            : string.Create(CultureInfo.InvariantCulture, $"slowest stage: {slowest.Stage} ({slowest.BusySeconds:F2} s busy over {Math.Max(1, slowest.Workers)} worker(s), {slowest.MicrosecondsPerItem:F2} µs/sample)");
        var verdict = ConsumerWaitShare > 0.10
            ? "the consumer is starved: the loader is the bottleneck"
            : "the consumer is the bottleneck: the loader keeps up";
        var padding = SequenceSteps + PaddingSteps > 0
            ? string.Create(CultureInfo.InvariantCulture, $" Padding: {PaddingFraction:P1} of {SequenceSteps + PaddingSteps:N0} sequence steps.")
            : "";
        return string.Create(CultureInfo.InvariantCulture, $"{stage}; consumer waited {ConsumerWaitShare:P1} of its time ({verdict}).{padding}");
    }
}
