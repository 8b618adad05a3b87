using StreamingLoader.TorchSharp.Interop;
using TorchSharp;
using static TorchSharp.torch;
using StreamingLoader.Batching;

namespace StreamingLoader.TorchSharp.Internal;

/// <summary>
/// The CUDA feed. Each batch is copied from its page-locked host buffer into a device slot on a side stream; the
/// compute stream (libtorch's default stream) waits for the copy's event; a slot is overwritten only after the work
/// issued before its previous batch was disposed has run (another event, waited for by the side stream); and a host
/// buffer goes back to the pool only once its copy's event has completed.
/// </summary>
internal sealed class CudaFeed : TorchFeed
{
    // libtorch issues its kernels on the legacy default stream unless told otherwise; TorchSharp never tells it.
    private const nint ComputeStream = 0;

    // Host buffers the feed may hold for copies in flight. A bound, so that a loader whose pool is small never finds
    // every buffer held here while the feed waits for the next Stage to notice completed copies: one batch ahead
    // needs two, and past the bound the host waits for the oldest copy (the device is then far behind anyway).
    private const int MaxCopiesInFlight = 2;

    private readonly CudaRuntime _cuda;
    private readonly int _deviceIndex;
    private readonly nint _copyStream;
    private readonly Dictionary<nint, (bool Pinned, bool Ours)> _registered = [];
    private readonly Stack<DeviceSlot> _free = new();
    private readonly List<DeviceSlot> _slots = [];
    private readonly Queue<(nint CopyDone, IDisposable Hold)> _inFlight = new();
    private readonly Lock _lock = new();
    private int _disposed;

    public CudaFeed(CudaRuntime cuda, int deviceIndex)
        : base(new Device(DeviceType.CUDA, deviceIndex))
    {
        _cuda = cuda;
        _deviceIndex = deviceIndex;
        _cuda.SetDevice(deviceIndex);
        _copyStream = _cuda.CreateStream();
    }

    public override TorchBatch Stage(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            _cuda.SetDevice(_deviceIndex);
            ReturnCompletedHostBuffers();
            while (_inFlight.Count >= MaxCopiesInFlight && _inFlight.TryDequeue(out var oldest))
            {
                _cuda.SynchronizeEvent(oldest.CopyDone);
                oldest.Hold.Dispose();
            }

            var pinned = EnsurePageLocked(batch);
            var slot = RentSlot(batch);

            // Not before the compute work that read the slot's previous batch (or that used its memory before it was allocated).
            _cuda.StreamWaitEvent(_copyStream, slot.Released);
            var tensors = new Dictionary<string, Tensor>(batch.Tensors.Count, StringComparer.Ordinal);
            for (var i = 0; i < batch.Tensors.Count; i++)
            {
                var source = batch.Tensors[i];
                _cuda.CopyToDeviceAsync(slot.Data[i], source.Pointer, source.ByteLength, _copyStream);
                var shape = new long[source.Shape.Length];
                for (var d = 0; d < shape.Length; d++)
                {
                    shape[d] = source.Shape[d];
                }

                tensors.Add(source.Name, slot.Buffers[i].narrow(0, 0, source.ElementCount).view(shape).DetachFromDisposeScope());
            }

            _cuda.RecordEvent(slot.CopyDone, _copyStream);
            _cuda.StreamWaitEvent(ComputeStream, slot.CopyDone);
            _inFlight.Enqueue((slot.CopyDone, BatchLease.Retain(batch)));
            TorchSharpMetrics.Staged(batch, pinned ? "cuda" : "cuda-pageable");
            return new TorchBatch(tensors, batch.Count, batch.Epoch, batch.Index, () => Release(slot));
        }
    }

    public override ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            if (_disposed != 0)
            {
                return ValueTask.CompletedTask;
            }

            _disposed = 1;
            _cuda.SetDevice(_deviceIndex);
            while (_inFlight.TryDequeue(out var copy))
            {
                _cuda.SynchronizeEvent(copy.CopyDone);
                copy.Hold.Dispose();
            }

            foreach (var slot in _slots)
            {
                _cuda.SynchronizeEvent(slot.Released);
                slot.Dispose(_cuda);
            }

            foreach (var (region, state) in _registered)
            {
                if (state.Ours)
                {
                    _ = _cuda.HostUnregister(region);
                }
            }

            _ = _cuda.DestroyStream(_copyStream);
        }

        return ValueTask.CompletedTask;
    }

    private void Release(DeviceSlot slot)
    {
        lock (_lock)
        {
            if (_disposed != 0)
            {
                return;
            }

            _cuda.SetDevice(_deviceIndex);
            _cuda.RecordEvent(slot.Released, ComputeStream);
            _free.Push(slot);
            ReturnCompletedHostBuffers();
        }
    }

    private void ReturnCompletedHostBuffers()
    {
        while (_inFlight.TryPeek(out var copy) && _cuda.EventCompleted(copy.CopyDone))
        {
            _inFlight.Dequeue();
            copy.Hold.Dispose();
        }
    }

    /// <summary>
    /// Page-locks the pooled buffer the first time it is seen: a batch's tensors are one allocation, laid out in order.
    /// A buffer that grows for longer sequences is a new allocation, locked when it is first seen.
    /// </summary>
    private bool EnsurePageLocked(Batch batch)
    {
        var start = batch.Tensors[0].Pointer;
        if (_registered.TryGetValue(start, out var known))
        {
            return known.Pinned;
        }

        long bytes = 0;
        foreach (var tensor in batch.Tensors)
        {
            if (tensor.Pointer != start + (nint)bytes)
            {
                break;
            }

            bytes += tensor.CapacityBytes;
        }

        var status = _cuda.HostRegister(start, bytes);
        var pinned = status is CudaRuntime.Success or CudaRuntime.HostMemoryAlreadyRegistered;
        _registered[start] = (pinned, status == CudaRuntime.Success);
        if (status == CudaRuntime.Success)
        {
            TorchSharpMetrics.PageLocked(bytes);
        }

        return pinned;
    }

    private DeviceSlot RentSlot(Batch batch)
    {
        while (_free.TryPop(out var slot))
        {
            if (slot.Fits(batch))
            {
                return slot;
            }
        }

        var created = new DeviceSlot(batch, Device, _cuda);
        _slots.Add(created);
        return created;
    }

    /// <summary>Device buffers for one batch (a flat one per tensor, as large as its host room), and the events that order their reuse.</summary>
    private sealed class DeviceSlot
    {
        public DeviceSlot(Batch batch, Device device, CudaRuntime cuda)
        {
            Layout = batch.Layout;
            Capacities = [.. batch.Tensors.Select(t => t.CapacityBytes)];
            Buffers = [.. batch.Tensors.Select(t => empty([t.CapacityBytes / ElementTypes.SizeOf(t.ElementType)], t.ElementType.ToScalarType(), device).DetachFromDisposeScope())];
            Data = [.. Buffers.Select(b => LibTorchSharp.THSTensor_data(b.Handle))];
            CopyDone = cuda.CreateEvent();
            Released = cuda.CreateEvent();

            // The caching allocator may hand out memory that queued compute work still uses: the first copy waits for it.
            cuda.RecordEvent(Released, ComputeStream);
        }

        public BatchLayout Layout { get; }

        public long[] Capacities { get; }

        public Tensor[] Buffers { get; }

        public nint[] Data { get; }

        public nint CopyDone { get; }

        public nint Released { get; }

        /// <summary>Whether this slot has room for every tensor of <paramref name="batch"/>.</summary>
        public bool Fits(Batch batch)
        {
            if (!ReferenceEquals(batch.Layout, Layout))
            {
                return false;
            }

            for (var i = 0; i < Capacities.Length; i++)
            {
                if (batch.Tensors[i].ByteLength > Capacities[i])
                {
                    return false;
                }
            }

            return true;
        }

        public void Dispose(CudaRuntime cuda)
        {
            foreach (var buffer in Buffers)
            {
                buffer.Dispose();
            }

            _ = cuda.DestroyEvent(CopyDone);
            _ = cuda.DestroyEvent(Released);
        }
    }
}
