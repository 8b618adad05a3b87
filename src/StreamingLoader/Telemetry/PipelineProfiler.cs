using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;

namespace StreamingLoader.Telemetry;

/// <summary>
/// Sums a pipeline's own metrics while it runs, to answer "which stage is the bottleneck, how long did the consumer
/// wait for data, and how much of the batches was padding?" at the end of a run (the same measurements Prometheus
/// scrapes).
/// </summary>
public sealed class PipelineProfiler : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly string _pipeline;
    private readonly ConcurrentDictionary<string, StageTotals> _stages = new();
    private double _consumerWait;
    private double _consumerStep;
    private long _sequenceSteps;
    private long _paddingSteps;

    private PipelineProfiler(string pipeline)
    {
        _pipeline = pipeline;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == LoaderMetrics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>(OnMeasurement);
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => OnMeasurement(instrument, value, tags, null));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => OnMeasurement(instrument, value, tags, null));
        _listener.Start();
    }

    /// <summary>Starts profiling the pipeline named <paramref name="pipeline"/> (<see cref="LoaderOptions.Name"/>).</summary>
    public static PipelineProfiler Start(string pipeline)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pipeline);
        return new PipelineProfiler(pipeline);
    }

    /// <summary>Returns what was measured so far.</summary>
    public PipelineProfile Snapshot()
    {
        _listener.RecordObservableInstruments();
        var stages = _stages
            .Select(s => new StageProfile(Enum.Parse<PipelineStage>(s.Key, ignoreCase: true), s.Value.Items, s.Value.BusySeconds, s.Value.BlockedSeconds) { Workers = s.Value.Workers })
            .OrderByDescending(s => s.BusySecondsPerWorker)
            .ToList();
        var wait = Volatile.Read(ref _consumerWait);
        var step = Volatile.Read(ref _consumerStep);
        return new PipelineProfile(_pipeline, stages, wait, step)
        {
            SequenceSteps = Interlocked.Read(ref _sequenceSteps),
            PaddingSteps = Interlocked.Read(ref _paddingSteps),
        };
    }

    /// <summary>Stops listening.</summary>
    public void Dispose() => _listener.Dispose();

    private void OnMeasurement<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
        where T : struct
    {
        string? pipeline = null, stage = null;
        foreach (var tag in tags)
        {
            if (tag.Key == LoaderMetrics.PipelineTag)
            {
                pipeline = tag.Value as string;
            }
            else if (tag.Key == LoaderMetrics.StageTag)
            {
                stage = tag.Value as string;
            }
        }

        if (pipeline != _pipeline)
        {
            return;
        }

        var amount = Convert.ToDouble(value, CultureInfo.InvariantCulture);
        switch (instrument.Name)
        {
            // Counters are observed as running totals; the duration histogram arrives one message at a time.
            case "streamingloader.consumer.wait":
                Volatile.Write(ref _consumerWait, amount);
                break;
            case "streamingloader.consumer.step":
                Volatile.Write(ref _consumerStep, amount);
                break;
            case "streamingloader.sequence.steps":
                Interlocked.Exchange(ref _sequenceSteps, (long)amount);
                break;
            case "streamingloader.sequence.padding":
                Interlocked.Exchange(ref _paddingSteps, (long)amount);
                break;
            case "streamingloader.stage.duration" when stage is not null:
                Add(ref _stages.GetOrAdd(stage, _ => new StageTotals()).BusySeconds, amount);
                break;
            case "streamingloader.stage.blocked" when stage is not null:
                Volatile.Write(ref _stages.GetOrAdd(stage, _ => new StageTotals()).BlockedSeconds, amount);
                break;
            case "streamingloader.stage.workers" when stage is not null:
                Volatile.Write(ref _stages.GetOrAdd(stage, _ => new StageTotals()).Workers, (int)amount);
                break;
            case "streamingloader.stage.items_in" when stage is not null:
                Volatile.Write(ref _stages.GetOrAdd(stage, _ => new StageTotals()).Items, (long)amount);
                break;
        }
    }

    private static void Add(ref double total, double amount)
    {
        double seen, next;
        do
        {
            seen = Volatile.Read(ref total);
            next = seen + amount;
        }
        while (Interlocked.CompareExchange(ref total, next, seen) != seen);
    }

    private sealed class StageTotals
    {
#pragma warning disable SA1401, CA1051 // Fields, so that Interlocked can update them.
        public long Items;
        public int Workers;
        public double BusySeconds;
        public double BlockedSeconds;
#pragma warning restore SA1401, CA1051
    }
}
