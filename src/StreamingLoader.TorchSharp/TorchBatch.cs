using static TorchSharp.torch;

namespace StreamingLoader.TorchSharp;

/// <summary>
/// A batch as tensors on the feed's device: every named tensor of the loader's batch (<see cref="Tensors"/>,
/// <c>batch["input_ids"]</c>) with its shape and dtype. Dispose it when the step that reads it has been issued.
/// </summary>
/// <remarks>
/// On the CPU the tensors are the loader's batch memory itself (no copy; the buffer goes back to the pool when libtorch
/// frees it). On CUDA they are views of device buffers that the feed reuses for a later batch once the work issued
/// before this batch's disposal has run: clone a tensor to keep it past <see cref="Dispose"/>.
/// </remarks>
public sealed class TorchBatch : IDisposable
{
    private readonly Dictionary<string, Tensor> _tensors;
    private Action? _onDispose;

    internal TorchBatch(Dictionary<string, Tensor> tensors, int count, long epoch, int index, Action? onDispose)
    {
        _tensors = tensors;
        Count = count;
        Epoch = epoch;
        Index = index;
        _onDispose = onDispose;
    }

    /// <summary>Gets every tensor of the batch by name.</summary>
    public IReadOnlyDictionary<string, Tensor> Tensors => _tensors;

    /// <summary>Gets the tensor named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">The batch has no such tensor; the message lists the ones it has.</exception>
    public Tensor this[string name] =>
        _tensors.TryGetValue(name, out var tensor)
            ? tensor
            : throw new KeyNotFoundException($"The batch has no tensor '{name}'; its tensors are {string.Join(", ", _tensors.Keys.Select(k => "'" + k + "'"))}.");

    /// <summary>Gets the <c>features</c> tensor of a features/labels batch: shape [Count, ..sample shape].</summary>
    public Tensor Features => this["features"];

    /// <summary>Gets the <c>labels</c> tensor of a features/labels batch: shape [Count, ..label shape].</summary>
    public Tensor Labels => this["labels"];

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
            foreach (var tensor in _tensors.Values)
            {
                tensor.Dispose();
            }

            onDispose();
        }
    }
}
