using StreamingLoader.TorchSharp.Internal;
using static TorchSharp.torch;
using StreamingLoader.Batching;

namespace StreamingLoader.TorchSharp;

/// <summary>
/// A batch as TorchSharp tensors without a copy: each tensor's storage is the batch's pinned buffer, with the batch
/// tensor's shape and dtype (like <c>torch.from_numpy</c>).
/// </summary>
/// <remarks>
/// The buffer stays out of the loader's pool until libtorch frees the storage (its deleter), not only until the batch
/// is disposed: a tensor that autograd keeps for the backward pass, or one the caller keeps, stays valid after the
/// batch is disposed. Dispose the tensors (or a <c>torch.NewDisposeScope()</c> around the step) so buffers come back
/// promptly; a tensor left to the garbage collector holds its buffer until it is finalized, and a pool that runs dry
/// reports it. Writes through the tensors change the batch's memory. Wrapping costs a few microseconds.
/// </remarks>
public static class BatchTensorExtensions
{
    /// <summary>Wraps one tensor of a batch (<c>batch["input_ids"].AsTensor()</c>) on the CPU without a copy.</summary>
    /// <exception cref="ObjectDisposedException">The batch was disposed.</exception>
    public static Tensor AsTensor(this BatchTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return ZeroCopy.Wrap(tensor.Batch, tensor);
    }

    /// <summary>Wraps every tensor of a batch, by name, on the CPU without a copy.</summary>
    /// <exception cref="ObjectDisposedException">The batch was disposed.</exception>
    public static IReadOnlyDictionary<string, Tensor> AsTensors(this Batch batch) => Wrap(batch);

    /// <summary>Gets the torch dtype that holds <paramref name="type"/>.</summary>
    public static ScalarType ToScalarType(this ElementType type) => ZeroCopy.ToScalarType(type);

    internal static Dictionary<string, Tensor> Wrap(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var tensors = new Dictionary<string, Tensor>(batch.Tensors.Count, StringComparer.Ordinal);
        try
        {
            foreach (var tensor in batch.Tensors)
            {
                tensors.Add(tensor.Name, ZeroCopy.Wrap(batch, tensor));
            }

            return tensors;
        }
        catch
        {
            foreach (var wrapped in tensors.Values)
            {
                wrapped.Dispose();
            }

            throw;
        }
    }
}
