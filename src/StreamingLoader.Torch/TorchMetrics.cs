using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Reflection;

namespace StreamingLoader.Torch;

/// <summary>
/// The metrics of the libtorch consumer, on their own <see cref="Meter"/> named <see cref="MeterName"/> (the loader's
/// own meter, <see cref="LoaderMetrics.MeterName"/>, already records the consumer's wait and step time per batch).
/// </summary>
/// <remarks>
/// Instruments: <c>streamingloader.torch.steps</c> (steps), <c>streamingloader.torch.samples</c> (samples handed to libtorch),
/// <c>streamingloader.torch.step.duration</c> (histogram, s: host time from receiving a batch to being ready for the
/// next: staging, steps and release; on CUDA the kernels run asynchronously, so this is launch time unless the device
/// is behind), <c>streamingloader.torch.input.wait</c> (s: time the trainer waited for the loader, the device's
/// starvation) and <c>streamingloader.torch.copy.bytes</c> (bytes copied host to device; 0 on the CPU, where batches are
/// read in place). Tags: <see cref="TrainerTag"/>, <see cref="DeviceTag"/>, <see cref="ModeTag"/>.
/// </remarks>
public static class TorchMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "StreamingLoader.Torch";

    /// <summary>Tag key: the trainer's <see cref="TorchTrainerOptions.Name"/>.</summary>
    public const string TrainerTag = "trainer";

    /// <summary>Tag key: the device (<c>cpu</c>, <c>cuda:0</c>).</summary>
    public const string DeviceTag = "device";

    /// <summary>Tag key: <c>train</c> or <c>eval</c>.</summary>
    public const string ModeTag = "mode";

    internal static readonly Meter Meter = new(MeterName, typeof(TorchMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0");

    internal static readonly Counter<long> Steps = Meter.CreateCounter<long>("streamingloader.torch.steps", "{step}", "Training or evaluation steps run by libtorch.");
    internal static readonly Counter<long> Samples = Meter.CreateCounter<long>("streamingloader.torch.samples", "{sample}", "Samples handed to libtorch (staged for a step).");
    internal static readonly Histogram<double> StepDuration = Meter.CreateHistogram<double>(
        "streamingloader.torch.step.duration",
        "s",
        "Host time the trainer spent on one batch: staging, steps and release.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });

    internal static readonly Counter<double> InputWait = Meter.CreateCounter<double>("streamingloader.torch.input.wait", "s", "Time the trainer waited for the loader's next batch (device starvation).");
    internal static readonly Counter<long> BytesCopied = Meter.CreateCounter<long>("streamingloader.torch.copy.bytes", "By", "Batch bytes copied from host to device.");

    internal static TagList Tags(string trainer, TorchDevice device, bool train) =>
        new() { { TrainerTag, trainer }, { DeviceTag, device.ToString() }, { ModeTag, train ? "train" : "eval" } };
}
