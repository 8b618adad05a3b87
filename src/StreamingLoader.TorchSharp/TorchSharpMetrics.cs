using System.Diagnostics;
using System.Diagnostics.Metrics;
using StreamingLoader.Batching;

namespace StreamingLoader.TorchSharp;

/// <summary>
/// The TorchSharp consumer's metrics, on their own <see cref="Meter"/> named <see cref="MeterName"/>.
/// </summary>
/// <remarks>
/// Instruments: <c>streamingloader.torch.input.wait</c> (counter, s: time the epoch loop waited for its next batch,
/// the device's starvation), <c>streamingloader.torch.steps</c> (counter), <c>streamingloader.torch.step.duration</c>
/// (histogram, s: host time of one step; on CUDA kernels run asynchronously, so it is launch time unless the device is
/// behind), <c>streamingloader.torch.staged.bytes</c> (counter, By: batch bytes handed to libtorch, copied on CUDA) and
/// <c>streamingloader.torch.pagelocked.bytes</c> (counter, By: host memory page-locked by the CUDA feed).
/// Tags: <see cref="ModeTag"/> (train or eval) and <see cref="DeviceTag"/> (cpu, cuda, cuda-pageable).
/// </remarks>
public static class TorchSharpMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "StreamingLoader.TorchSharp";

    /// <summary>The version of this set of instruments (not of the build), so that upgrades keep the same series.</summary>
    public const string MeterVersion = "1.0";

    /// <summary>Tag key: <c>train</c> or <c>eval</c>.</summary>
    public const string ModeTag = "mode";

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

    internal static void Step(bool train, TimeSpan inputWait, TimeSpan step)
    {
        var tags = new TagList { { ModeTag, train ? "train" : "eval" } };
        InputWaitCounter.Add(inputWait.TotalSeconds, tags);
        StepCounter.Add(1, tags);
        StepDuration.Record(step.TotalSeconds, tags);
    }

    internal static void Staged(Batch batch, string device) => StagedBytes.Add(batch.ByteLength, new KeyValuePair<string, object?>(DeviceTag, device));

    internal static void PageLocked(long bytes) => PageLockedBytes.Add(bytes);
}
