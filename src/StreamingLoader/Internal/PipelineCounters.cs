using System.Collections.Concurrent;

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

    /// <summary>Of <see cref="WaitTicks"/>, the time after the batch was ready (the consumer's continuation waited for a thread).</summary>
    public long DispatchTicks;

    public long SequenceSteps;
    public long PaddingSteps;
#pragma warning restore CA1051

    private readonly ConcurrentDictionary<PipelineStage, StageCounters> _stages = new();

    /// <summary>Gets where each sample read went, per epoch.</summary>
    public SampleAccounting Accounting { get; } = new();

    public IEnumerable<KeyValuePair<PipelineStage, StageCounters>> Stages => _stages;

    /// <summary>Gets the source's waits while finished batches were waiting for the consumer.</summary>
    public WaitClock SourceWaitForConsumer { get; } = new();

    /// <summary>Gets the source's waits while the stages' work was unfinished (no batch ready).</summary>
    public WaitClock SourceWaitForStages { get; } = new();

    /// <summary>Gets or sets how many finished batches wait for the consumer now (the prefetch queue), once the pipeline runs.</summary>
    public Func<int>? ReadyBatches { get; set; }

    /// <summary>
    /// Starts timing a wait of the source (for a batch buffer or for room in the first queue) as the source's blocked
    /// time and, by whether batches are ready for the consumer as it starts, as a wait for the consumer or the stages.
    /// </summary>
    public SourceWait StartSourceWait(TimeProvider time)
    {
        var blocked = Stage(PipelineStage.Source).StartBlocked(time);
        var reason = (ReadyBatches?.Invoke() ?? 0) > 0 ? SourceWaitForConsumer : SourceWaitForStages;
        return new SourceWait(blocked, reason.Start(time));
    }

    public StageCounters Stage(PipelineStage name) => _stages.GetOrAdd(name, static _ => new StageCounters());
}
