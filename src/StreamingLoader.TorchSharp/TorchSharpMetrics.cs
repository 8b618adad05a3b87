using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using StreamingLoader.Batching;
using StreamingLoader.Telemetry;

namespace StreamingLoader.TorchSharp;

/// <summary>
/// The TorchSharp consumer's metrics, on their own <see cref="Meter"/> named <see cref="MeterName"/>.
/// </summary>
/// <remarks>
/// <para>
/// Per step: <c>streamingloader.torch.input.wait</c> (counter, s: time the epoch loop waited for its next batch, the
/// device's starvation), <c>streamingloader.torch.steps</c> (counter), <c>streamingloader.torch.step.duration</c>
/// (histogram, s: host time of one step; on CUDA kernels run asynchronously, so it is launch time unless the device is
/// behind), <c>streamingloader.torch.staged.bytes</c> (counter, By: batch bytes handed to libtorch, copied on CUDA) and
/// <c>streamingloader.torch.pagelocked.bytes</c> (counter, By: host memory page-locked by the CUDA feed).
/// </para>
/// <para>
/// Per pass of <c>TorchEpochs.TrainEpochAsync</c> and <see cref="TorchEpochs.EvaluateEpochAsync"/> (gauges):
/// <c>streamingloader.torch.loss</c> and <c>streamingloader.torch.accuracy</c> (of the last pass completed; accuracy for
/// classifiers only), <c>streamingloader.torch.epoch</c> (passes completed), <c>streamingloader.torch.epoch.step</c> and
/// <c>streamingloader.torch.epoch.steps</c> (steps into the pass, and per pass when the loader knows), 
/// <c>streamingloader.torch.epoch.duration</c> (s, the last pass) and <c>streamingloader.torch.learning_rate</c> (of the
/// optimizer's first parameter group, read as each training pass starts).
/// </para>
/// <para>
/// Tags: <see cref="PipelineTag"/> (the loader's <see cref="LoaderOptions.Name"/>), <see cref="ModeTag"/> (train or eval)
/// and, on staged bytes, <see cref="DeviceTag"/> (cpu, cuda, cuda-pageable).
/// </para>
/// </remarks>
public static class TorchSharpMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "StreamingLoader.TorchSharp";

    /// <summary>The version of this set of instruments (not of the build), so that upgrades keep the same series.</summary>
    public const string MeterVersion = "1.0";

    /// <summary>Tag key: <c>train</c> or <c>eval</c>.</summary>
    public const string ModeTag = "mode";

    /// <summary>Tag key: the loader's pipeline name, as on the loader's own metrics.</summary>
    public const string PipelineTag = LoaderMetrics.PipelineTag;

    /// <summary>Tag key: how a batch reached the device (<c>cpu</c>, <c>cuda</c>, <c>cuda-pageable</c>).</summary>
    public const string DeviceTag = "device";

    private static readonly Meter Meter = new(MeterName, MeterVersion);
    private static readonly Counter<double> InputWaitCounter = Meter.CreateCounter<double>("streamingloader.torch.input.wait", "s", "Time the epoch loop waited for its next batch (device starvation).");
    private static readonly Counter<long> StepCounter = Meter.CreateCounter<long>("streamingloader.torch.steps", "{step}", "Training or evaluation steps.");
    private static readonly Histogram<double> StepDuration = Meter.CreateHistogram<double>(
        "streamingloader.torch.step.duration",
        "s",
        "Host time of one step.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });

    private static readonly Counter<long> StagedBytes = Meter.CreateCounter<long>("streamingloader.torch.staged.bytes", "By", "Batch bytes handed to libtorch (copied to the device on CUDA).");
    private static readonly Counter<long> PageLockedBytes = Meter.CreateCounter<long>("streamingloader.torch.pagelocked.bytes", "By", "Host memory page-locked by the CUDA feed.");

    private static readonly ConcurrentDictionary<(string Pipeline, string Mode), PassState> Passes = new();

#pragma warning disable CA1810 // The observable gauges read the passes' state; a static constructor keeps them beside it.
    static TorchSharpMetrics()
#pragma warning restore CA1810
    {
        // Loss, accuracy and learning rate have no unit: OpenTelemetry's Prometheus names would add "_ratio" for "1".
        Meter.CreateObservableGauge("streamingloader.torch.loss", () => Observe(p => p.Loss), unit: null, "Mean loss of the last pass completed.");
        Meter.CreateObservableGauge("streamingloader.torch.accuracy", () => Observe(p => p.Accuracy), unit: null, "Share of samples classified right in the last pass completed (classifiers only).");
        Meter.CreateObservableGauge("streamingloader.torch.epoch", () => Observe(p => p.Completed), "{epoch}", "Passes completed.");
        Meter.CreateObservableGauge("streamingloader.torch.epoch.step", () => Observe(p => p.Step), "{step}", "Steps into the current pass.");
        Meter.CreateObservableGauge("streamingloader.torch.epoch.steps", () => Observe(p => p.StepsPerPass), "{step}", "Steps per pass, where the loader knows its epoch's size.");
        Meter.CreateObservableGauge("streamingloader.torch.epoch.duration", () => Observe(p => p.LastDuration), "s", "Wall time of the last pass completed.");
        Meter.CreateObservableGauge("streamingloader.torch.learning_rate", () => Observe(p => p.LearningRate), unit: null, "Learning rate of the optimizer's first parameter group, read as each training pass starts.");
    }

    internal static void Step(PassTags tags, TimeSpan inputWait, TimeSpan step)
    {
        InputWaitCounter.Add(inputWait.TotalSeconds, tags.List);
        StepCounter.Add(1, tags.List);
        StepDuration.Record(step.TotalSeconds, tags.List);
        Interlocked.Increment(ref tags.State.StepField);
    }

    /// <summary>Starts a pass: its tags, its state for the gauges, and the learning rate and steps per pass as it starts.</summary>
    internal static PassTags StartPass(string pipeline, bool train, double? learningRate, int? stepsPerPass)
    {
        var mode = train ? "train" : "eval";
        var state = Passes.GetOrAdd((pipeline, mode), _ => new PassState());
        Interlocked.Exchange(ref state.StepField, 0);
        state.StepsPerPass = stepsPerPass;
        if (learningRate is not null)
        {
            state.LearningRate = learningRate;
        }

        return new PassTags(new TagList { { PipelineTag, pipeline }, { ModeTag, mode } }, state);
    }

    /// <summary>Ends a pass that completed: its loss, accuracy (null when not a classifier) and duration.</summary>
    internal static void EndPass(PassTags tags, double meanLoss, double? accuracy, TimeSpan elapsed)
    {
        var state = tags.State;
        state.Loss = meanLoss;
        state.Accuracy = accuracy;
        state.LastDuration = elapsed.TotalSeconds;
        Interlocked.Increment(ref state.CompletedField);
    }

    internal static void Staged(Batch batch, string device) => StagedBytes.Add(batch.ByteLength, new KeyValuePair<string, object?>(DeviceTag, device));

    internal static void PageLocked(long bytes) => PageLockedBytes.Add(bytes);

    private static IEnumerable<Measurement<double>> Observe(Func<PassState, double?> read)
    {
        foreach (var ((pipeline, mode), state) in Passes)
        {
            if (read(state) is { } value)
            {
                yield return new Measurement<double>(value, new TagList { { PipelineTag, pipeline }, { ModeTag, mode } });
            }
        }
    }

    /// <summary>A pass's tags and the state its gauges read.</summary>
    internal readonly record struct PassTags(TagList List, PassState State);

    /// <summary>What the gauges show of one pipeline's passes in one mode.</summary>
    internal sealed class PassState
    {
#pragma warning disable CA1051, SA1401 // Fields, so that the training thread can add to them with Interlocked.
        public long StepField;
        public long CompletedField;
#pragma warning restore CA1051, SA1401

        public double? Loss { get; set; }

        public double? Accuracy { get; set; }

        public double? LastDuration { get; set; }

        public double? LearningRate { get; set; }

        public int? StepsPerPass { get; set; }

        public double? Step => Interlocked.Read(ref StepField);

        public double? Completed => Interlocked.Read(ref CompletedField);
    }
}
