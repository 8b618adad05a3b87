using static TorchSharp.torch;

namespace StreamingLoader.TorchSharp;

/// <summary>
/// A batch as tensors on the feed's device: <see cref="Features"/> and <see cref="Labels"/> with the batch's shape
/// and dtype. Dispose it when the step that reads it has been issued.
/// </summary>
/// <remarks>
/// On the CPU the tensors are the loader's batch memory itself (no copy; the buffer goes back to the pool when libtorch
/// frees it). On CUDA they are views of device buffers that the feed reuses for a later batch once the work issued
/// before this batch's disposal has run: clone a tensor to keep it past <see cref="Dispose"/>.
/// </remarks>
public sealed class TorchBatch : IDisposable
{
    private Action? _onDispose;

    internal TorchBatch(Tensor features, Tensor labels, int count, long epoch, int index, Action? onDispose)
    {
        Features = features;
        Labels = labels;
        Count = count;
        Epoch = epoch;
        Index = index;
        _onDispose = onDispose;
    }

    /// <summary>Gets the features: shape [Count, ..sample shape].</summary>
    public Tensor Features { get; }

    /// <summary>Gets the labels: shape [Count, ..label shape].</summary>
    public Tensor Labels { get; }

    /// <summary>Gets the number of samples.</summary>
    public int Count { get; }

    /// <summary>Gets the epoch the batch belongs to, from 0.</summary>
    public long Epoch { get; }

    /// <summary>Gets the batch's position within its epoch, from 0.</summary>
    public int Index { get; }

    /// <summary>Releases the tensors (and, on CUDA, the device buffers for reuse). Idempotent.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _onDispose, null) is { } onDispose)
        {
            Features.Dispose();
            Labels.Dispose();
            onDispose();
        }
    }
}
