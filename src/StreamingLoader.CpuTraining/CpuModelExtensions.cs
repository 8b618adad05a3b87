using System.Diagnostics;

namespace StreamingLoader.CpuTraining;

/// <summary>Runs an <see cref="ICpuModel"/> over a loader's epochs, as the seeds' <c>for x, y in dataloader:</c> loop does.</summary>
public static class CpuModelExtensions
{
    /// <summary>
    /// Reads the loader's next epoch and runs one <see cref="ICpuModel.TrainStep"/> per batch, disposing each batch.
    /// </summary>
    /// <returns>The epoch's batch count, sample count, mean training loss and time.</returns>
    public static Task<EpochResult> TrainEpochAsync(this ICpuModel model, DataLoader loader, CancellationToken cancellationToken = default) =>
        TrainEpochAsync(model, loader, onStep: null, cancellationToken);

    /// <summary>
    /// Reads the loader's next epoch and runs one <see cref="ICpuModel.TrainStep"/> per batch, disposing each batch.
    /// </summary>
    /// <param name="model">The model to train.</param>
    /// <param name="loader">The training loader.</param>
    /// <param name="onStep">
    /// Called after each step with the batch (still valid until the call returns) and its loss: progress bars and logs.
    /// </param>
    /// <param name="cancellationToken">Stops the epoch (and the loader, as every read's token does).</param>
    /// <returns>The epoch's batch count, sample count, mean training loss and time.</returns>
    public static async Task<EpochResult> TrainEpochAsync(this ICpuModel model, DataLoader loader, Action<Batch, float>? onStep, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loader);
        var start = Stopwatch.GetTimestamp();
        long epoch = -1, samples = 0;
        var batches = 0;
        var lossSum = 0.0;
        await foreach (var batch in loader.ReadEpochAsync(cancellationToken).ConfigureAwait(false))
        {
            using (batch)
            {
                var loss = model.TrainStep(batch);
                epoch = batch.Epoch;
                batches++;
                samples += batch.Count;
                lossSum += (double)loss * batch.Count;
                onStep?.Invoke(batch, loss);
            }
        }

        return new EpochResult(epoch, batches, samples, samples == 0 ? 0 : lossSum / samples, Stopwatch.GetElapsedTime(start));
    }

    /// <summary>
    /// Reads the loader's next epoch and evaluates the model on every batch without updating it, disposing each batch.
    /// Use a loader without shuffle for test data (PyTorch's <c>model.eval()</c> loop under <c>torch.no_grad()</c>).
    /// </summary>
    /// <returns>The mean loss and, for a classifier, the accuracy over the epoch.</returns>
    public static async Task<EvaluationResult> EvaluateAsync(this ICpuModel model, DataLoader loader, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loader);
        var start = Stopwatch.GetTimestamp();
        var lossSum = 0.0;
        long correct = 0, count = 0;
        await foreach (var batch in loader.ReadEpochAsync(cancellationToken).ConfigureAwait(false))
        {
            using (batch)
            {
                var result = model.Evaluate(batch);
                lossSum += result.LossSum;
                correct += result.Correct;
                count += result.Count;
            }
        }

        return new EvaluationResult(lossSum, correct, count, Stopwatch.GetElapsedTime(start));
    }
}

/// <summary>What one training epoch did.</summary>
/// <param name="Epoch">The loader's epoch number (<see cref="Batch.Epoch"/>), or −1 if the epoch had no batch.</param>
/// <param name="Batches">The number of SGD steps (PyTorch's iterations).</param>
/// <param name="Samples">The number of samples trained on.</param>
/// <param name="MeanLoss">The batches' losses averaged over samples, each taken before its batch's update.</param>
/// <param name="Elapsed">The wall-clock time of the epoch, loading included.</param>
public readonly record struct EpochResult(long Epoch, int Batches, long Samples, double MeanLoss, TimeSpan Elapsed)
{
    /// <summary>Gets the samples trained per second.</summary>
    public double SamplesPerSecond => Elapsed > TimeSpan.Zero ? Samples / Elapsed.TotalSeconds : 0;
}

/// <summary>The result of evaluating a model over an epoch of a loader.</summary>
/// <param name="LossSum">The sum of the samples' losses.</param>
/// <param name="Correct">How many samples a classifier got right; 0 for a regression.</param>
/// <param name="Count">How many samples were evaluated.</param>
/// <param name="Elapsed">The wall-clock time of the evaluation, loading included.</param>
public readonly record struct EvaluationResult(double LossSum, long Correct, long Count, TimeSpan Elapsed)
{
    /// <summary>Gets the mean loss per sample.</summary>
    public double MeanLoss => Count == 0 ? 0 : LossSum / Count;

    /// <summary>Gets the fraction of samples classified correctly (0 for a regression).</summary>
    public double Accuracy => Count == 0 ? 0 : (double)Correct / Count;
}
