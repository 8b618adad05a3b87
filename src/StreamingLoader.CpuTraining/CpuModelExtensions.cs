using System.Diagnostics;
using StreamingLoader.Batching;
using StreamingLoader.Training;

namespace StreamingLoader.CpuTraining;

/// <summary>Runs an <see cref="ICpuModel"/> over a loader's epochs, as the seeds' <c>for x, y in dataloader:</c> loop does.</summary>
public static class CpuModelExtensions
{
    /// <summary>
    /// Reads the loader's next epoch and runs one <see cref="ICpuModel.TrainStep"/> per batch, disposing each batch.
    /// </summary>
    /// <returns>The epoch's batch count, sample count, mean training loss, time and time waited for input.</returns>
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
    /// <returns>The epoch's batch count, sample count, mean training loss, time and time waited for input.</returns>
    public static async Task<EpochResult> TrainEpochAsync(this ICpuModel model, DataLoader loader, Action<Batch, float>? onStep, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loader);
        var start = Stopwatch.GetTimestamp();
        long samples = 0;
        var batches = 0;
        var lossSum = 0.0;
        var inputWait = TimeSpan.Zero;
        var waitStart = Stopwatch.GetTimestamp();
        await foreach (var batch in loader.ReadEpochAsync(cancellationToken).ConfigureAwait(false))
        {
            using (batch)
            {
                inputWait += Stopwatch.GetElapsedTime(waitStart);
                var loss = model.TrainStep(batch);
                batches++;
                samples += batch.Count;
                lossSum += (double)loss * batch.Count;
                onStep?.Invoke(batch, loss);
            }

            waitStart = Stopwatch.GetTimestamp();
        }

        return new EpochResult(batches, samples, samples == 0 ? 0 : lossSum / samples, Correct: 0, Stopwatch.GetElapsedTime(start), inputWait);
    }

    /// <summary>
    /// Reads the loader's next epoch and evaluates the model on every batch without updating it, disposing each batch.
    /// Use a loader without shuffle for test data (PyTorch's <c>model.eval()</c> loop under <c>torch.no_grad()</c>).
    /// </summary>
    /// <returns>The mean loss and, for a classifier, the accuracy over the epoch.</returns>
    public static async Task<EpochResult> EvaluateAsync(this ICpuModel model, DataLoader loader, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loader);
        var start = Stopwatch.GetTimestamp();
        var lossSum = 0.0;
        long correct = 0, count = 0;
        var batches = 0;
        var inputWait = TimeSpan.Zero;
        var waitStart = Stopwatch.GetTimestamp();
        await foreach (var batch in loader.ReadEpochAsync(cancellationToken).ConfigureAwait(false))
        {
            using (batch)
            {
                inputWait += Stopwatch.GetElapsedTime(waitStart);
                var result = model.Evaluate(batch);
                lossSum += result.LossSum;
                correct += result.Correct;
                count += result.Count;
                batches++;
            }

            waitStart = Stopwatch.GetTimestamp();
        }

        return new EpochResult(batches, count, count == 0 ? 0 : lossSum / count, correct, Stopwatch.GetElapsedTime(start), inputWait);
    }
}
