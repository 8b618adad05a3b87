using System.Runtime.CompilerServices;
using StreamingLoader.TorchSharp.Internal;
using StreamingLoader.TorchSharp.Interop;
using TorchSharp;
using static TorchSharp.torch;
using StreamingLoader.Batching;

namespace StreamingLoader.TorchSharp;

/// <summary>
/// Turns loader batches into tensors on a device. On the CPU it wraps each batch without a copy. On CUDA it does what
/// TorchSharp cannot (no streams or events in its API): page-locks each pooled host buffer once, copies batch n + 1 to
/// the device on a side stream while step n runs, makes the compute stream wait for that copy on the device (an event,
/// not a host wait), and lets the host buffer go back to the loader's pool only once its copy has completed.
/// </summary>
/// <remarks>
/// <para>
/// Three ways to feed a step, with the same ownership rules: <see cref="ReadAsync"/> over
/// <see cref="DataLoader.ReadEpochAsync"/> (prefetches one batch ahead and disposes the loader's batches itself), or
/// <see cref="Stage"/> inside a <see cref="DataLoader.ForEachAsync"/> handler or an observer's <c>OnNext</c>
/// (the loader may dispose the batch when the handler returns: the feed keeps the host buffer until it is no longer read).
/// </para>
/// <para>
/// A feed is driven by one loop at a time. Dispose it before the loader, so page-locked buffers are unregistered while
/// they still exist.
/// </para>
/// </remarks>
public abstract class TorchFeed : IAsyncDisposable, IDisposable
{
    private protected TorchFeed(Device device) => Device = device;

    /// <summary>Gets the device the tensors are on.</summary>
    public Device Device { get; }

    /// <summary>
    /// Creates a feed for <paramref name="device"/>; null picks CUDA device 0 when TorchSharp sees one and the CUDA
    /// runtime loads, and the CPU otherwise.
    /// </summary>
    /// <exception cref="InvalidOperationException">A CUDA device was asked for and CUDA is not usable, or libtorch cannot load here; the message says why.</exception>
    public static TorchFeed Create(Device? device = null)
    {
        LibTorchSetup.EnsureLoaded();
        if (device is null)
        {
            return Cuda.Availability() is null ? Create(new Device(DeviceType.CUDA, 0)) : new CpuFeed();
        }

        switch (device.type)
        {
            case DeviceType.CPU:
                return new CpuFeed();
            case DeviceType.CUDA:
                var reason = Cuda.Availability();
                if (reason is not null)
                {
                    throw new InvalidOperationException($"Cannot feed {device}: {reason}");
                }

                return new CudaFeed(CudaRuntime.TryGet()!, device.index < 0 ? 0 : device.index);
            default:
                throw new NotSupportedException($"StreamingLoader.TorchSharp feeds CPU and CUDA devices, not {device}.");
        }
    }

    /// <summary>
    /// Makes tensors of <paramref name="batch"/> on <see cref="Device"/>. The batch stays the caller's to dispose (at
    /// once is fine: the feed keeps its host buffer as long as it reads it).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The batch or the feed was disposed.</exception>
    public abstract TorchBatch Stage(Batch batch);

    /// <summary>
    /// Reads <paramref name="batches"/> as device tensors, staging the next batch before handing out the current one,
    /// and disposes each source batch. Dispose each <see cref="TorchBatch"/> after issuing its step.
    /// </summary>
    public async IAsyncEnumerable<TorchBatch> ReadAsync(IAsyncEnumerable<Batch> batches, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var source = batches.GetAsyncEnumerator(cancellationToken);
        TorchBatch? next = null;
        try
        {
            if (!await source.MoveNextAsync().ConfigureAwait(false))
            {
                yield break;
            }

            next = StageAndRelease(source.Current);
            while (next is not null)
            {
                var current = next;
                next = null;

                // One ahead: the copy of the next batch is issued before the current one's step.
                if (await source.MoveNextAsync().ConfigureAwait(false))
                {
                    next = StageAndRelease(source.Current);
                }

                yield return current;
            }
        }
        finally
        {
            next?.Dispose();
            await source.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Reads the loader's next epoch as device tensors; see <see cref="ReadAsync"/>.</summary>
    public IAsyncEnumerable<TorchBatch> ReadEpochAsync(DataLoader loader, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(loader);
        return ReadAsync(loader.ReadEpochAsync(cancellationToken), cancellationToken);
    }

    /// <summary>Waits for the feed's copies, returns the host buffers it holds and frees its device buffers. Idempotent.</summary>
    public abstract ValueTask DisposeAsync();

    /// <summary>See <see cref="DisposeAsync"/>.</summary>
    public void Dispose()
    {
        DisposeAsync().AsTask().GetAwaiter().GetResult();
        GC.SuppressFinalize(this);
    }

    private TorchBatch StageAndRelease(Batch batch)
    {
        using (batch)
        {
            return Stage(batch);
        }
    }
}
