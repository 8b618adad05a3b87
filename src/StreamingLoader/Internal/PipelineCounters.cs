using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Diagnostics;

namespace StreamingLoader.Internal;

/// <summary>A pipeline's running totals, read by the observable instruments.</summary>
internal sealed class PipelineCounters
{
#pragma warning disable CA1051 // Fields, so that the hot paths can add to them with Interlocked.
    public long Samples;
    public long Batches;
    public long Bytes;
    public long WaitTicks;
    public long StepTicks;
    public long SequenceSteps;
    public long PaddingSteps;
#pragma warning restore CA1051

    private readonly ConcurrentDictionary<PipelineStage, StageCounters> _stages = new();

    /// <summary>Gets where each sample read went, per epoch.</summary>
    public SampleAccounting Accounting { get; } = new();

    public IEnumerable<KeyValuePair<PipelineStage, StageCounters>> Stages => _stages;

    public StageCounters Stage(PipelineStage name) => _stages.GetOrAdd(name, static _ => new StageCounters());
}
