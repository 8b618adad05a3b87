using System.Runtime.InteropServices;

namespace StreamingLoader.Torch;

/// <summary>What a <see cref="TorchTrainer"/> did over an epoch (or since its last <see cref="TorchTrainer.Flush"/>).</summary>
/// <param name="Epoch">The loader's epoch number (<see cref="Batch.Epoch"/>), or −1 if no batch came.</param>
/// <param name="Batches">The number of steps.</param>
/// <param name="Samples">The number of samples trained on.</param>
/// <param name="MeanLoss">The steps' losses averaged over samples, each taken before its step's update.</param>
/// <param name="Correct">Samples the model classified right before its update (cross-entropy); 0 for a regression.</param>
/// <param name="Elapsed">Wall-clock time, loading included.</param>
/// <param name="InputWait">Time spent waiting for the loader's next batch: starvation of the device.</param>
[StructLayout(LayoutKind.Auto)]
public readonly record struct TorchEpochResult(long Epoch, int Batches, long Samples, double MeanLoss, long Correct, TimeSpan Elapsed, TimeSpan InputWait)
{
    /// <summary>Gets the training accuracy (the fraction of <see cref="Correct"/>); 0 for a regression.</summary>
    public double Accuracy => Samples == 0 ? 0 : (double)Correct / Samples;

    /// <summary>Gets the samples trained per second.</summary>
    public double SamplesPerSecond => Elapsed > TimeSpan.Zero ? Samples / Elapsed.TotalSeconds : 0;

    /// <summary>Gets the fraction of the time spent waiting for input (0 = never starved).</summary>
    public double InputWaitFraction => Elapsed > TimeSpan.Zero ? InputWait / Elapsed : 0;
}
