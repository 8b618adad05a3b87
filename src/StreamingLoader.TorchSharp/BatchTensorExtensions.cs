using StreamingLoader.TorchSharp.Internal;
using static TorchSharp.torch;

namespace StreamingLoader.TorchSharp;

/// <summary>
/// A batch as TorchSharp tensors without a copy: the tensors' storage is the batch's pinned buffer, with the batch's
/// shape and dtype (like <c>torch.from_numpy</c>).
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
    /// <summary>Wraps the features, shape [Count, ..sample shape], on the CPU without a copy.</summary>
    /// <exception cref="ObjectDisposedException">The batch was disposed.</exception>
    public static Tensor FeaturesAsTensor(this Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return ZeroCopy.Wrap(batch, batch.Features);
    }

    /// <summary>Wraps the labels, shape [Count, ..label shape], on the CPU without a copy.</summary>
    /// <exception cref="ObjectDisposedException">The batch was disposed.</exception>
    public static Tensor LabelsAsTensor(this Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return ZeroCopy.Wrap(batch, batch.Labels);
    }

    /// <summary>Wraps features and labels on the CPU without a copy.</summary>
    /// <exception cref="ObjectDisposedException">The batch was disposed.</exception>
    public static (Tensor Features, Tensor Labels) AsTensors(this Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var features = ZeroCopy.Wrap(batch, batch.Features);
        try
        {
            return (features, ZeroCopy.Wrap(batch, batch.Labels));
        }
        catch
        {
            features.Dispose();
            throw;
        }
    }

    /// <summary>Gets the torch dtype that holds <paramref name="type"/>.</summary>
    public static ScalarType ToScalarType(this ElementType type) => ZeroCopy.ToScalarType(type);
}
