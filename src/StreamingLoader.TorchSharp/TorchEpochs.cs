using StreamingLoader.TorchSharp.Internal;
using TorchSharp;
using static TorchSharp.torch;
using StreamingLoader.Batching;
using StreamingLoader.Training;

namespace StreamingLoader.TorchSharp;

/// <summary>
/// The tutorial's epoch loop over a loader, with TorchSharp's own model, loss and optimizer:
/// <c>for x, y in loader: optimizer.zero_grad(); loss = criterion(model(x), y); loss.backward(); optimizer.step()</c>,
/// and its evaluation twin under <c>torch.no_grad()</c>; and the single step for a loop of your own. The time spent
/// waiting for input is measured and reported (<see cref="TorchSharpMetrics"/>).
/// </summary>
/// <remarks>
/// Every pass runs on one thread, the training thread, waiting there for input: libtorch's OpenMP team, MKL's
/// buffers, TorchSharp's dispose scopes and grad mode are all per thread (<see cref="TorchThreads"/>). Passes started
/// together run one after the other. <see cref="TrainStep(TorchBatch, nn.Module{Tensor, Tensor}, nn.Module{Tensor, Tensor, Tensor}, optim.Optimizer)"/>
/// runs on the thread that calls it. Each step runs inside its own dispose scope, so every temporary of a step is freed
/// when the step ends. The loss and accuracy of a pass are summed on the device and read once at its end: no per-step
/// host synchronization on CUDA. Gradients are dropped before each step rather than zeroed (PyTorch 2's
/// <c>zero_grad(set_to_none=True)</c>, its default): backward writes each gradient instead of adding it to zeros, and
/// no zeroing kernel runs. A parameter that gets no gradient in a step is therefore skipped by the optimizer, as in
/// PyTorch 2.
/// </remarks>
public static class TorchEpochs
{
    /// <summary>Reads the loader's next epoch and trains on every batch.</summary>
    /// <param name="loader">The loader.</param>
    /// <param name="model">The model, on the feed's device.</param>
    /// <param name="criterion">The loss, called as <c>criterion(output, labels)</c>, returning the batch's mean.</param>
    /// <param name="optimizer">The optimizer of <paramref name="model"/>'s parameters.</param>
    /// <param name="feed">How batches reach the device; null wraps them on the CPU.</param>
    /// <param name="cancellationToken">Stops the pass (and the loader's read) after the step under way.</param>
    /// <exception cref="InvalidOperationException">libtorch cannot load here; the message says why and what to do.</exception>
    public static Task<EpochResult> TrainEpochAsync(
        this DataLoader loader,
        nn.Module<Tensor, Tensor> model,
        nn.Module<Tensor, Tensor, Tensor> criterion,
        optim.Optimizer optimizer,
        TorchFeed? feed = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        return EpochPass.RunAsync(loader, model, criterion, optimizer, feed, afterStep: null, cancellationToken);
    }

    /// <summary>
    /// Reads the loader's next epoch and trains on every batch, calling <paramref name="afterStep"/> after each step
    /// with the loader's batch (still leased: read its position, save a checkpoint). For a live source, whose epoch
    /// ends only when the source does, this is the training loop with a checkpoint after every batch.
    /// </summary>
    /// <param name="loader">The loader.</param>
    /// <param name="model">The model, on the feed's device.</param>
    /// <param name="criterion">The loss, called as <c>criterion(output, labels)</c>, returning the batch's mean.</param>
    /// <param name="optimizer">The optimizer of <paramref name="model"/>'s parameters.</param>
    /// <param name="afterStep">
    /// Called on the training thread once the batch's step has been issued (on CUDA it may still run on the device; on
    /// the CPU it has run), before the batch is disposed. An exception from it ends the pass with that exception.
    /// </param>
    /// <param name="feed">How batches reach the device; null wraps them on the CPU.</param>
    /// <param name="cancellationToken">Stops the pass (and the loader's read) after the step under way and its call.</param>
    /// <exception cref="InvalidOperationException">libtorch cannot load here; the message says why and what to do.</exception>
    public static Task<EpochResult> TrainEpochAsync(
        this DataLoader loader,
        nn.Module<Tensor, Tensor> model,
        nn.Module<Tensor, Tensor, Tensor> criterion,
        optim.Optimizer optimizer,
        Action<Batch> afterStep,
        TorchFeed? feed = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(afterStep);
        return EpochPass.RunAsync(loader, model, criterion, optimizer, feed, afterStep, cancellationToken);
    }

    /// <summary>Reads the loader's next epoch and evaluates every batch (<c>model.eval()</c>, no gradients).</summary>
    /// <exception cref="InvalidOperationException">libtorch cannot load here; the message says why and what to do.</exception>
    public static Task<EpochResult> EvaluateEpochAsync(
        this DataLoader loader,
        nn.Module<Tensor, Tensor> model,
        nn.Module<Tensor, Tensor, Tensor> criterion,
        TorchFeed? feed = null,
        CancellationToken cancellationToken = default) =>
        EpochPass.RunAsync(loader, model, criterion, optimizer: null, feed, afterStep: null, cancellationToken);

    /// <summary>
    /// One training step on a staged batch (for <see cref="DataLoader.ForEachAsync"/> handlers, observers and loops of
    /// your own): returns the loss tensor, detached, on the batch's device (read it with <c>item&lt;float&gt;()</c>
    /// when needed; that waits for the device). The caller disposes the returned tensor.
    /// </summary>
    /// <remarks>
    /// The step runs on the calling thread, as the same step written by hand would, with that thread's libtorch
    /// intra-op threads (one, after <see cref="TorchThreads.ApplyDefaults"/>, on any thread but the training thread).
    /// Handing each step to the training thread instead cost two thread wake-ups per step, and woke the training
    /// thread's idle OpenMP team for each; on the shared 2-core machine each wake-up waited for a core: 11–92 times the
    /// hand-written step's time (the package README's "Per-batch steps").
    /// </remarks>
    public static Tensor TrainStep(TorchBatch batch, nn.Module<Tensor, Tensor> model, nn.Module<Tensor, Tensor, Tensor> criterion, optim.Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(criterion);
        ArgumentNullException.ThrowIfNull(optimizer);
        return EpochPass.TrainStep(batch.Features, batch.Labels, model, criterion, optimizer);
    }

    /// <summary>
    /// One training step on a loader's batch on the CPU, without a <see cref="TorchFeed"/>: the batch's memory is
    /// wrapped (<see cref="BatchTensorExtensions.AsTensors"/>, no copy) for the step. Returns the loss tensor, detached;
    /// the caller disposes it. Runs on the calling thread (see the other overload). For a model on a GPU, stage the
    /// batch with <see cref="TorchFeed.Stage"/> and pass the <see cref="TorchBatch"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is not on the CPU, or libtorch cannot load here; the message says what to do.</exception>
    /// <exception cref="ObjectDisposedException">The batch was disposed.</exception>
    public static Tensor TrainStep(Batch batch, nn.Module<Tensor, Tensor> model, nn.Module<Tensor, Tensor, Tensor> criterion, optim.Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(criterion);
        ArgumentNullException.ThrowIfNull(optimizer);
        using var scope = NewDisposeScope();
        var (features, labels) = (batch.Features.AsTensor(), batch.Labels.AsTensor());
        try
        {
            return EpochPass.TrainStep(features, labels, model, criterion, optimizer).MoveToOuterDisposeScope();
        }
        catch (Exception e) when (e is not OperationCanceledException && EpochPass.DeviceOf(model) is { type: not DeviceType.CPU } device)
        {
            throw new InvalidOperationException(
                $"TrainStep(Batch, ...) trains on the CPU, and the model is on {device}: stage the batch on the model's device with a TorchFeed (TorchFeed.Create(device).Stage(batch)) and pass the TorchBatch.", e);
        }
    }
}
