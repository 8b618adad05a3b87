using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Diagnostics;

namespace StreamingLoader.Telemetry;

/// <summary>
/// The names of StreamingLoader's metrics: one <see cref="Meter"/> named <see cref="MeterName"/>, whose
/// instruments any OpenTelemetry or <see cref="MeterListener"/> setup can collect.
/// </summary>
public static class LoaderMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "StreamingLoader";

    /// <summary>Tag key: the pipeline's <see cref="LoaderOptions.Name"/>.</summary>
    public const string PipelineTag = "pipeline";

    /// <summary>Tag key: the stage (source, read, transform, shuffle, collate, prefetch).</summary>
    public const string StageTag = "stage";

    /// <summary>Tag key: the error policy that handled an error (fail or skip).</summary>
    public const string PolicyTag = "policy";

    /// <summary>Tag key: why the autotuner made its last change (<see cref="AutotuneStatus.Reason"/>; "fixed" when nothing is tuned).</summary>
    public const string ReasonTag = "reason";

    /// <summary>
    /// Tag key of <c>streamingloader.source.wait</c>: what the source waited for, <c>consumer</c> (every batch buffer
    /// was taken and finished batches were waiting for the consumer: the loader is ahead) or <c>stages</c> (the buffers
    /// or the first queue were taken by work the stages had not finished: the stages are behind).
    /// </summary>
    public const string WaitingForTag = "waiting_for";

    /// <summary>The instrument name of the per-message stage latency histogram.</summary>
    public const string StageDurationName = "streamingloader.stage.duration";

    /// <summary>
    /// The meter's version: the version of this set of instruments (names, units, tags), not of the build, so that
    /// Prometheus's <c>otel_scope_version</c> label does not start new series with every release. It changes only when
    /// an instrument is renamed or changes meaning.
    /// </summary>
    public const string MeterVersion = "1.0";

    /// <summary>
    /// The bucket boundaries of <see cref="StageDurationName"/>, in seconds: 1 µs to 100 ms. One message (a chunk of
    /// samples) takes microseconds in memory and milliseconds when it decodes images or reads files; anything slower
    /// falls in the +Inf bucket and still counts in the sum.
    /// </summary>
    public static IReadOnlyList<double> StageDurationBuckets { get; } =
        [0.000_001, 0.000_002_5, 0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1];

    /// <summary>The instrument name of the ingest-lag histogram (see <see cref="IngestLagBuckets"/>).</summary>
    public const string IngestLagName = "streamingloader.ingest.lag";

    /// <summary>
    /// The bucket boundaries of <see cref="IngestLagName"/>, in seconds: 100 µs to 1 minute. The lag is the age, when its
    /// batch reaches the consumer, of the oldest sample in the batch, counted from when the loader read it from its
    /// source: for a live source, how far training trails the stream.
    /// </summary>
    public static IReadOnlyList<double> IngestLagBuckets { get; } =
        [0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    internal static readonly Meter Meter = new(MeterName, MeterVersion);

    internal static readonly Histogram<double> IngestLag = Meter.CreateHistogram<double>(
        IngestLagName,
        "s",
        "Age at delivery of the oldest sample in a batch, since the loader read it from its source.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [.. IngestLagBuckets] });

    internal static readonly Histogram<double> StageDuration = Meter.CreateHistogram<double>(
        StageDurationName,
        "s",
        "Time a stage took for one message (a chunk of samples).",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [.. StageDurationBuckets] });

    internal static readonly Counter<long> Errors = Meter.CreateCounter<long>("streamingloader.errors", "{error}", "Samples that failed, by stage and error policy.");

    // Each live pipeline, with the stages whose error counters already exist.
    private static readonly ConcurrentDictionary<IMetricsSource, ConcurrentDictionary<PipelineStage, byte>> Live = new();

    // Counters are observed from each pipeline's plain counters when metrics are collected: a hot loop pays an
    // interlocked add, not a measurement event, which keeps metrics on within a few percent of metrics off.
    static LoaderMetrics()
    {
        Meter.CreateObservableCounter("streamingloader.stage.items_in", () => ObserveStages(s => s.ItemsIn), "{sample}", "Samples that entered a stage.");
        Meter.CreateObservableCounter("streamingloader.stage.items_out", () => ObserveStages(s => s.ItemsOut), "{sample}", "Samples that left a stage.");
        Meter.CreateObservableCounter("streamingloader.stage.blocked", () => ObserveStages(s => s.BlockedSeconds()), "s", "Time a stage waited for the next stage to accept its output (backpressure), summed over its workers; waits still in progress count up to now.");
        Meter.CreateObservableCounter("streamingloader.samples", () => ObservePipelines(c => c.Samples), "{sample}", "Samples delivered to the consumer.");
        Meter.CreateObservableCounter("streamingloader.samples.read", () => ObservePipelines(c => c.Accounting.Total(Tally.Read)), "{sample}", "Samples read from the source; each ends delivered, skipped, failed or dropped.");
        Meter.CreateObservableCounter("streamingloader.samples.skipped", () => ObservePipelines(c => c.Accounting.Total(Tally.Skipped)), "{sample}", "Samples dropped under the skip policy, each with a dead letter.");
        Meter.CreateObservableCounter("streamingloader.samples.failed", () => ObservePipelines(c => c.Accounting.Total(Tally.Failed)), "{sample}", "Samples whose error stopped the loader under the fail policy.");
        Meter.CreateObservableCounter("streamingloader.samples.dropped", () => ObservePipelines(c => c.Accounting.Total(Tally.Dropped)), "{sample}", "Samples read but not wanted: a dropped last partial batch, the rest of an epoch left early.");
        Meter.CreateObservableCounter("streamingloader.retries", () => ObservePipelines(c => c.Accounting.Total(Tally.Retried)), "{retry}", "Attempts after the first at reading or transforming a sample (the retry policy).");
        Meter.CreateObservableCounter("streamingloader.values.nonfinite", () => ObservePipelines(c => c.Accounting.Total(Tally.NonFinite)), "{value}", "NaN and infinite feature values delivered (NonFiniteNumbers.Count).");
        Meter.CreateObservableCounter("streamingloader.sequence.steps", () => ObserveSequences(c => c.SequenceSteps), "{step}", "Steps (tokens) of variable-length fields delivered as data.");
        Meter.CreateObservableCounter("streamingloader.sequence.padding", () => ObserveSequences(c => c.PaddingSteps), "{step}", "Steps (tokens) of variable-length fields delivered as padding; padding / (steps + padding) is the padding fraction.");
        Meter.CreateObservableCounter("streamingloader.batches", () => ObservePipelines(c => c.Batches), "{batch}", "Batches delivered to the consumer.");
        Meter.CreateObservableCounter("streamingloader.bytes", () => ObservePipelines(c => c.Bytes), "By", "Bytes of batch data delivered to the consumer.");
        Meter.CreateObservableCounter("streamingloader.consumer.wait", () => ObservePipelines(c => TimeSpan.FromTicks(c.WaitTicks).TotalSeconds), "s", "Time the consumer waited for its next batch (starvation).");
        Meter.CreateObservableCounter("streamingloader.consumer.step", () => ObservePipelines(c => TimeSpan.FromTicks(c.StepTicks).TotalSeconds), "s", "Time the consumer spent on a batch before asking for the next.");
        Meter.CreateObservableCounter("streamingloader.consumer.dispatch", () => ObservePipelines(c => TimeSpan.FromTicks(c.DispatchTicks).TotalSeconds), "s", "Part of the consumer's wait after its batch was ready: its continuation waited for a thread (CPU or thread-pool starvation), not for data.");
        Meter.CreateObservableCounter("streamingloader.source.wait", ObserveSourceWaits, "s", "Time the source waited to hand on what it read, by what it waited for: the consumer (finished batches were waiting for it) or the stages (their work was unfinished).");
        Meter.CreateObservableGauge("streamingloader.process.cpu.limit", () => ProcessCpu.CoresAvailable(), "{cpu}", "Cores the process may use: the processor count, capped by the cgroup's CPU quota where one is readable.");
        Meter.CreateObservableCounter("streamingloader.process.cpu.wait", ObserveRunQueueWait, "s", "Time the process's threads were ready to run but waited for a CPU, summed over threads (Linux schedstat).");
        Meter.CreateObservableGauge("streamingloader.stage.queue_depth", ObserveQueues, "{message}", "Messages waiting at a stage's input.");
        Meter.CreateObservableGauge("streamingloader.stage.queue_capacity", ObserveQueueCapacities, "{message}", "Messages a stage's input queue holds when full.");
        Meter.CreateObservableGauge("streamingloader.stage.workers", ObserveWorkers, "{worker}", "Messages a stage works on at once (its degree of parallelism).");
        Meter.CreateObservableUpDownCounter("streamingloader.pool.leases", ObserveLeases, "{batch}", "Batch buffers leased and not yet returned.");
        Meter.CreateObservableUpDownCounter("streamingloader.pool.capacity", ObservePoolCapacity, "{batch}", "Batch buffers the pool may hold.");
        Meter.CreateObservableGauge("streamingloader.autotune.workers", () => ObserveTuning(s => s.Workers), "{worker}", "Workers of each parallel stage now: as the autotuner set them (LoaderOptions.Workers = Auto), or as the options fixed them.");
        Meter.CreateObservableGauge("streamingloader.autotune.prefetch", () => ObserveTuning(s => s.Prefetch), "{batch}", "Prefetch depth now: as the autotuner set it, or as the options fixed it.");
        Meter.CreateObservableGauge("streamingloader.autotune.memory", () => ObserveTuning(s => s.MemoryBytes), "By", "Bytes of the batch buffers allocated now.");
        Meter.CreateObservableGauge("streamingloader.autotune.memory_budget", ObserveBudgets, "By", "Bytes the autotuner keeps the batch buffers within (LoaderOptions.MemoryBudget); only for autotuned pipelines.");
        Meter.CreateObservableCounter("streamingloader.autotune.changes", () => ObserveTuning(s => (long)s.Changes), "{change}", "Changes the autotuner made to workers, prefetch or pool.");
        Meter.CreateObservableGauge("streamingloader.autotune.last_change", ObserveLastChange, "{change}", "1, tagged with the reason of the autotuner's last change (\"fixed\" when nothing is tuned).");
        Meter.CreateObservableUpDownCounter("streamingloader.pool.held", ObservePoolHeld, "{batch}", "Batch buffers handed to the consumer and not yet disposed; all of them held stops the loader.");
    }

    internal static void Register(IMetricsSource source) => Live.TryAdd(source, new ConcurrentDictionary<PipelineStage, byte>());

    internal static void Unregister(IMetricsSource source) => Live.TryRemove(source, out _);

    internal static string PolicyTagValue(ErrorPolicy policy) => policy == ErrorPolicy.Skip ? "skip" : "fail";

    internal static TagList PipelineTags(string pipeline) => new() { { PipelineTag, pipeline } };

    internal static TagList StageTags(string pipeline, PipelineStage stage) => new() { { PipelineTag, pipeline }, { StageTag, stage.Tag() } };

    private static IEnumerable<Measurement<TValue>> ObserveStages<TValue>(Func<StageCounters, TValue> read)
        where TValue : struct
    {
        foreach (var source in Live.Keys)
        {
            foreach (var (stage, counters) in source.Counters.Stages)
            {
                yield return new Measurement<TValue>(read(counters), StageTags(source.Name, stage));
            }
        }
    }

    private static IEnumerable<Measurement<TValue>> ObservePipelines<TValue>(Func<PipelineCounters, TValue> read)
        where TValue : struct
    {
        foreach (var source in Live.Keys)
        {
            yield return new Measurement<TValue>(read(source.Counters), PipelineTags(source.Name));
        }
    }

    /// <summary>Only pipelines that delivered variable-length fields: a dashboard says "no padding here" for the others, not 0 %.</summary>
    private static IEnumerable<Measurement<long>> ObserveSequences(Func<PipelineCounters, long> read)
    {
        foreach (var source in Live.Keys)
        {
            var counters = source.Counters;
            if (Interlocked.Read(ref counters.SequenceSteps) + Interlocked.Read(ref counters.PaddingSteps) > 0)
            {
                yield return new Measurement<long>(read(counters), PipelineTags(source.Name));
            }
        }
    }

    private static IEnumerable<Measurement<TValue>> ObserveTuning<TValue>(Func<AutotuneStatus, TValue> read)
        where TValue : struct
    {
        foreach (var source in Live.Keys)
        {
            yield return new Measurement<TValue>(read(source.Tuning), PipelineTags(source.Name));
        }
    }

    private static IEnumerable<Measurement<long>> ObserveBudgets()
    {
        foreach (var source in Live.Keys)
        {
            if (source.Tuning is { MemoryBudget: > 0 } tuning)
            {
                yield return new Measurement<long>(tuning.MemoryBudget, PipelineTags(source.Name));
            }
        }
    }

    private static IEnumerable<Measurement<int>> ObserveLastChange()
    {
        foreach (var source in Live.Keys)
        {
            yield return new Measurement<int>(1, new TagList { { PipelineTag, source.Name }, { ReasonTag, source.Tuning.Reason } });
        }
    }

    private static IEnumerable<Measurement<double>> ObserveSourceWaits()
    {
        foreach (var source in Live.Keys)
        {
            var counters = source.Counters;
            yield return new Measurement<double>(counters.SourceWaitForConsumer.Seconds(), new TagList { { PipelineTag, source.Name }, { WaitingForTag, "consumer" } });
            yield return new Measurement<double>(counters.SourceWaitForStages.Seconds(), new TagList { { PipelineTag, source.Name }, { WaitingForTag, "stages" } });
        }
    }

    private static IEnumerable<Measurement<double>> ObserveRunQueueWait()
    {
        if (ProcessCpu.RunQueueWaitSeconds() is { } seconds)
        {
            yield return new Measurement<double>(seconds);
        }
    }

    private static IEnumerable<Measurement<int>> ObserveWorkers()
    {
        foreach (var (source, errorStages) in Live)
        {
            var options = (source as DataLoader)?.Options;
            foreach (var shape in source.StageShapes())
            {
                if (shape.Workers <= 0)
                {
                    continue;
                }

                // Each working stage's error counter starts at zero, so "no errors" reads 0 rather than "no data".
                if (errorStages.TryAdd(shape.Stage, 0))
                {
                    Errors.Add(0, new TagList { { PipelineTag, source.Name }, { StageTag, shape.Stage.Tag() }, { PolicyTag, PolicyTagValue(options?.PolicyFor(shape.Stage) ?? ErrorPolicy.Fail) } });
                }

                yield return new Measurement<int>(shape.Workers, StageTags(source.Name, shape.Stage));
            }
        }
    }

    private static IEnumerable<Measurement<int>> ObserveQueueCapacities()
    {
        foreach (var source in Live.Keys)
        {
            foreach (var shape in source.StageShapes())
            {
                if (shape.QueueCapacity > 0)
                {
                    yield return new Measurement<int>(shape.QueueCapacity, StageTags(source.Name, shape.Stage));
                }
            }
        }
    }

    private static IEnumerable<Measurement<int>> ObserveQueues()
    {
        foreach (var source in Live.Keys)
        {
            foreach (var (stage, depth) in source.QueueDepths())
            {
                yield return new Measurement<int>(depth, StageTags(source.Name, stage));
            }
        }
    }

    private static IEnumerable<Measurement<long>> ObserveLeases()
    {
        foreach (var source in Live.Keys)
        {
            yield return new Measurement<long>(source.PoolLeases, PipelineTags(source.Name));
        }
    }

    private static IEnumerable<Measurement<long>> ObservePoolHeld()
    {
        foreach (var source in Live.Keys)
        {
            yield return new Measurement<long>(source.PoolHeld, PipelineTags(source.Name));
        }
    }

    private static IEnumerable<Measurement<long>> ObservePoolCapacity()
    {
        foreach (var source in Live.Keys)
        {
            yield return new Measurement<long>(source.PoolCapacity, PipelineTags(source.Name));
        }
    }
}
