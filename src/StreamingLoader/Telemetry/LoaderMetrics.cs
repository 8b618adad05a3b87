using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;

namespace StreamingLoader;

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

    internal static readonly Meter Meter = new(MeterName, typeof(LoaderMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0");

    internal static readonly Counter<long> StageItemsIn = Meter.CreateCounter<long>("streamingloader.stage.items_in", "{sample}", "Samples that entered a stage.");
    internal static readonly Counter<long> StageItemsOut = Meter.CreateCounter<long>("streamingloader.stage.items_out", "{sample}", "Samples that left a stage.");
    internal static readonly Counter<double> StageBlocked = Meter.CreateCounter<double>("streamingloader.stage.blocked", "s", "Time a stage waited for the next stage to accept its output (backpressure).");
    internal static readonly Histogram<double> StageDuration = Meter.CreateHistogram<double>(
        "streamingloader.stage.duration",
        "s",
        "Time a stage took for one message (a chunk of samples).",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });

    internal static readonly Counter<long> Samples = Meter.CreateCounter<long>("streamingloader.samples", "{sample}", "Samples delivered to the consumer.");
    internal static readonly Counter<long> Batches = Meter.CreateCounter<long>("streamingloader.batches", "{batch}", "Batches delivered to the consumer.");
    internal static readonly Counter<long> Bytes = Meter.CreateCounter<long>("streamingloader.bytes", "By", "Bytes of batch data delivered to the consumer.");
    internal static readonly Counter<double> ConsumerWait = Meter.CreateCounter<double>("streamingloader.consumer.wait", "s", "Time the consumer waited for its next batch (starvation).");
    internal static readonly Counter<double> ConsumerStep = Meter.CreateCounter<double>("streamingloader.consumer.step", "s", "Time the consumer spent on a batch before asking for the next.");
    internal static readonly Counter<long> Errors = Meter.CreateCounter<long>("streamingloader.errors", "{error}", "Samples that failed, by stage and error policy.");

    private static readonly ConcurrentDictionary<IMetricsSource, byte> Live = new();

    static LoaderMetrics()
    {
        Meter.CreateObservableGauge("streamingloader.stage.queue_depth", ObserveQueues, "{message}", "Messages waiting at a stage's input.");
        Meter.CreateObservableUpDownCounter("streamingloader.pool.leases", ObserveLeases, "{batch}", "Batch buffers leased and not yet returned.");
        Meter.CreateObservableUpDownCounter("streamingloader.pool.capacity", ObservePoolCapacity, "{batch}", "Batch buffers the pool may hold.");
    }

    internal static void Register(IMetricsSource source) => Live.TryAdd(source, 0);

    internal static void Unregister(IMetricsSource source) => Live.TryRemove(source, out _);

    internal static TagList PipelineTags(string pipeline) => new() { { PipelineTag, pipeline } };

    internal static TagList StageTags(string pipeline, string stage) => new() { { PipelineTag, pipeline }, { StageTag, stage } };

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

    private static IEnumerable<Measurement<long>> ObservePoolCapacity()
    {
        foreach (var source in Live.Keys)
        {
            yield return new Measurement<long>(source.PoolCapacity, PipelineTags(source.Name));
        }
    }
}

/// <summary>What a live pipeline reports to the observable instruments.</summary>
internal interface IMetricsSource
{
    string Name { get; }

    long PoolLeases { get; }

    long PoolCapacity { get; }

    IEnumerable<(string Stage, int Depth)> QueueDepths();
}
