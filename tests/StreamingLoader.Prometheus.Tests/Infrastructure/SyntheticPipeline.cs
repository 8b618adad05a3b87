using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace StreamingLoader.Prometheus.Tests.Infrastructure;

/// <summary>
/// Records what a running pipeline of <c>stageCount</c> stages records, on instruments with exactly the names,
/// units, descriptions and bucket boundaries of <see cref="LoaderMetrics"/>, from a background loop. Used for the
/// scrape-time check (a 10-stage pipeline) where the shape of the load, not the loader, is what is measured.
/// </summary>
internal sealed class SyntheticPipeline : IAsyncDisposable
{
    public static readonly string[] DefaultStages = ["source", "read", "transform", "shuffle", "collate", "prefetch"];

    private static readonly double[] DurationBuckets = [0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly string _name;
    private readonly string[] _stages;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _leases;

    public SyntheticPipeline(string pipelineName, int stageCount = 6, Meter? meter = null)
    {
        _name = pipelineName;
        _stages = [.. Enumerable.Range(0, stageCount).Select(i => i < DefaultStages.Length ? DefaultStages[i] : $"stage{i}")];
        _ownsMeter = meter is null;
        _meter = meter ?? new Meter(LoaderMetrics.MeterName);

        ItemsIn = _meter.CreateCounter<long>("streamingloader.stage.items_in", "{sample}", "Samples that entered a stage.");
        ItemsOut = _meter.CreateCounter<long>("streamingloader.stage.items_out", "{sample}", "Samples that left a stage.");
        Blocked = _meter.CreateCounter<double>("streamingloader.stage.blocked", "s", "Time a stage waited for the next stage to accept its output (backpressure).");
        Duration = _meter.CreateHistogram("streamingloader.stage.duration", "s", "Time a stage took for one message (a chunk of samples).", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        Samples = _meter.CreateCounter<long>("streamingloader.samples", "{sample}", "Samples delivered to the consumer.");
        Batches = _meter.CreateCounter<long>("streamingloader.batches", "{batch}", "Batches delivered to the consumer.");
        Bytes = _meter.CreateCounter<long>("streamingloader.bytes", "By", "Bytes of batch data delivered to the consumer.");
        Wait = _meter.CreateCounter<double>("streamingloader.consumer.wait", "s", "Time the consumer waited for its next batch (starvation).");
        Step = _meter.CreateCounter<double>("streamingloader.consumer.step", "s", "Time the consumer spent on a batch before asking for the next.");
        Errors = _meter.CreateCounter<long>("streamingloader.errors", "{error}", "Samples that failed, by stage and error policy.");
        _meter.CreateObservableGauge("streamingloader.stage.queue_depth", ObserveQueues, "{message}", "Messages waiting at a stage's input.");
        _meter.CreateObservableUpDownCounter("streamingloader.pool.leases", () => new Measurement<long>(Interlocked.Read(ref _leases), Pipeline), "{batch}", "Batch buffers leased and not yet returned.");
        _meter.CreateObservableUpDownCounter("streamingloader.pool.capacity", () => new Measurement<long>(8, Pipeline), "{batch}", "Batch buffers the pool may hold.");

        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    public Counter<long> ItemsIn { get; }

    public Counter<long> ItemsOut { get; }

    public Counter<double> Blocked { get; }

    public Histogram<double> Duration { get; }

    public Counter<long> Samples { get; }

    public Counter<long> Batches { get; }

    public Counter<long> Bytes { get; }

    public Counter<double> Wait { get; }

    public Counter<double> Step { get; }

    public Counter<long> Errors { get; }

    private KeyValuePair<string, object?> Pipeline => new(LoaderMetrics.PipelineTag, _name);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    /// <summary>One "batch" of 32 samples moved through every stage, as the loader would record it.</summary>
    public void RecordBatch(Random random)
    {
        const int batchSize = 32;
        foreach (var stage in _stages)
        {
            var tags = new TagList { { LoaderMetrics.PipelineTag, _name }, { LoaderMetrics.StageTag, stage } };
            ItemsIn.Add(batchSize, tags);
            ItemsOut.Add(batchSize, tags);
            Blocked.Add(random.NextDouble() * 0.001, tags);
            Duration.Record(0.000_05 + (random.NextDouble() * 0.002), tags);
        }

        var pipeline = new TagList { { LoaderMetrics.PipelineTag, _name } };
        Samples.Add(batchSize, pipeline);
        Batches.Add(1, pipeline);
        Bytes.Add(batchSize * 28 * 28 * sizeof(float), pipeline);
        Wait.Add(random.NextDouble() * 0.0005, pipeline);
        Step.Add(0.002 + (random.NextDouble() * 0.001), pipeline);
        Interlocked.Exchange(ref _leases, random.Next(1, 8));
        if (random.Next(10) == 0)
        {
            Errors.Add(1, new TagList { { LoaderMetrics.PipelineTag, _name }, { LoaderMetrics.StageTag, "transform" }, { LoaderMetrics.PolicyTag, "skip" } });
        }
    }

    private IEnumerable<Measurement<int>> ObserveQueues()
    {
        for (var i = 0; i < _stages.Length; i++)
        {
            yield return new Measurement<int>(i % 4, new TagList { { LoaderMetrics.PipelineTag, _name }, { LoaderMetrics.StageTag, _stages[i] } });
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var random = new Random(42);
        while (!cancellationToken.IsCancellationRequested)
        {
            RecordBatch(random);
            await Task.Delay(5, cancellationToken);
        }
    }
}
