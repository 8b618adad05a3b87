using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;

namespace StreamingLoader.Telemetry;

/// <summary>
/// Sums a pipeline's own metrics while it runs, with the process's CPU use, its threads' wait for a CPU and the
/// thread pool's queue, to answer "what limits the consumer?" at the end of a run (<see cref="PipelineProfile.Verdict"/>,
/// by the rule the dashboard uses on the same measurements), and how much of the batches was padding.
/// </summary>
public sealed class PipelineProfiler : IDisposable
{
    private static readonly TimeSpan QueueSampling = TimeSpan.FromMilliseconds(100);

    private readonly MeterListener _listener = new();
    private readonly string _pipeline;
    private readonly ConcurrentDictionary<string, StageTotals> _stages = new();
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly TimeSpan _cpuAtStart = Environment.CpuUsage.TotalTime;
    private readonly double _cpuWaitAtStart = ProcessCpu.RunQueueWaitSeconds() ?? 0;
    private readonly Timer _queueSampler;
    private long _queueSum;
    private long _queueSamples;
    private double _consumerWait;
    private double _consumerStep;
    private long _sequenceSteps;
    private long _paddingSteps;
    private double _consumerDispatch;
    private double _sourceWaitForConsumer;
    private double _sourceWaitForStages;

    private PipelineProfiler(string pipeline)
    {
        _pipeline = pipeline;
        _queueSampler = new Timer(_ => SampleQueue(), null, TimeSpan.Zero, QueueSampling);
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
        SampleQueue();
        var stages = _stages
            .Select(s => new StageProfile(Enum.Parse<PipelineStage>(s.Key, ignoreCase: true), s.Value.Items, s.Value.BusySeconds, s.Value.BlockedSeconds) { Workers = s.Value.Workers })
            .OrderByDescending(s => s.BusySecondsPerWorker)
            .ToList();
        var samples = Interlocked.Read(ref _queueSamples);
        return new PipelineProfile(_pipeline, stages, Volatile.Read(ref _consumerWait), Volatile.Read(ref _consumerStep))
        {
            ElapsedSeconds = Stopwatch.GetElapsedTime(_started).TotalSeconds,
            ConsumerDispatchSeconds = Volatile.Read(ref _consumerDispatch),
            CpuSeconds = (Environment.CpuUsage.TotalTime - _cpuAtStart).TotalSeconds,
            CoresAvailable = ProcessCpu.CoresAvailable(),
            CpuWaitSeconds = (ProcessCpu.RunQueueWaitSeconds() ?? _cpuWaitAtStart) - _cpuWaitAtStart,
            ThreadPoolQueue = samples == 0 ? 0 : (double)Interlocked.Read(ref _queueSum) / samples,
            SourceWaitForConsumerSeconds = Volatile.Read(ref _sourceWaitForConsumer),
            SourceWaitForStagesSeconds = Volatile.Read(ref _sourceWaitForStages),
            SequenceSteps = Interlocked.Read(ref _sequenceSteps),
            PaddingSteps = Interlocked.Read(ref _paddingSteps),
        };
    }

    /// <summary>Stops listening.</summary>
    public void Dispose()
    {
        _queueSampler.Dispose();
        _listener.Dispose();
    }

    private void SampleQueue()
    {
        Interlocked.Add(ref _queueSum, ThreadPool.PendingWorkItemCount);
        Interlocked.Increment(ref _queueSamples);
    }

    private void OnMeasurement<T>(Instrument instrument, T value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
        where T : struct
    {
        string? pipeline = null, stage = null, waitingFor = null;
        foreach (var tag in tags)
        {
            switch (tag.Key)
            {
                case LoaderMetrics.PipelineTag:
                    pipeline = tag.Value as string;
                    break;
                case LoaderMetrics.StageTag:
                    stage = tag.Value as string;
                    break;
                case LoaderMetrics.WaitingForTag:
                    waitingFor = tag.Value as string;
                    break;
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
            case "streamingloader.consumer.dispatch":
                Volatile.Write(ref _consumerDispatch, amount);
                break;
            case "streamingloader.source.wait" when waitingFor == "consumer":
                Volatile.Write(ref _sourceWaitForConsumer, amount);
                break;
            case "streamingloader.source.wait" when waitingFor == "stages":
                Volatile.Write(ref _sourceWaitForStages, amount);
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
