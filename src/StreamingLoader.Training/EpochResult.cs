namespace StreamingLoader.Training;

/// <summary>
/// One training or evaluation pass over an epoch, whichever consumer ran it (TorchSharp's epoch helpers, the managed
/// CPU models).
/// </summary>
/// <param name="Batches">Steps run.</param>
/// <param name="Samples">Samples seen.</param>
/// <param name="MeanLoss">The loss averaged over samples (each batch's mean loss weighted by its size).</param>
/// <param name="Correct">Samples whose arg-max output equals the label (classification: [n, classes] outputs and
/// integer labels of shape [n]); 0 otherwise.</param>
/// <param name="Elapsed">Wall time of the pass.</param>
/// <param name="InputWait">Time the loop waited for its next batch.</param>
public sealed record EpochResult(int Batches, long Samples, double MeanLoss, long Correct, TimeSpan Elapsed, TimeSpan InputWait)
{
    /// <summary>Gets <see cref="Correct"/> / <see cref="Samples"/>.</summary>
    public double Accuracy => Samples == 0 ? 0 : (double)Correct / Samples;

    /// <summary>Gets the share of <see cref="Elapsed"/> spent waiting for input.</summary>
    public double InputWaitFraction => Elapsed <= TimeSpan.Zero ? 0 : InputWait / Elapsed;

    /// <summary>Gets samples per second of wall time.</summary>
    public double SamplesPerSecond => Elapsed <= TimeSpan.Zero ? 0 : Samples / Elapsed.TotalSeconds;
}
