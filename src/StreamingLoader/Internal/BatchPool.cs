using System.Diagnostics.CodeAnalysis;

namespace StreamingLoader.Internal;

/// <summary>
/// A bounded pool of batch buffers in pinned, 64-byte-aligned native memory. Renting waits while every buffer is
/// leased, which is what bounds a pipeline's memory.
/// </summary>
internal sealed class BatchPool : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Stack<BatchBuffer> _free = new();
    private readonly List<BatchBuffer> _allocations = [];
    private readonly HashSet<Batch> _leased = [];
    private readonly HashSet<BufferReservation> _reservations = [];
    private readonly ResizableSemaphore _available;
    private readonly int _capacity;
    private readonly int _batchSize;
    private BatchLayout? _layout;
    private int _outstanding;
    private long _handedOut;
    private long _returnedAfterHandOut;
    private bool _disposed;
    private long _allocatedBytes;
    private long _largestBufferBytes;

    public BatchPool(int capacity, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        _capacity = capacity;
        _batchSize = batchSize;
        _available = new ResizableSemaphore(capacity);
    }

    /// <summary>Gets the most buffers the pool may hold (its limit may be lower: <see cref="Limit"/>).</summary>
    public int Capacity => _capacity;

    /// <summary>Gets the buffers the pool may hold now: <see cref="Capacity"/> unless <see cref="Resize"/> lowered it.</summary>
    public int Limit => _available.Limit;

    /// <summary>Gets the bytes of the largest buffer so far (0 before the first): what each buffer may come to cost.</summary>
    public long LargestBufferBytes => Interlocked.Read(ref _largestBufferBytes);

    /// <summary>Gets the buffers leased and not yet returned.</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>Gets the buffers handed to the consumer and not yet disposed by it.</summary>
    public long HeldByConsumer => Interlocked.Read(ref _handedOut) - Interlocked.Read(ref _returnedAfterHandOut);

    /// <summary>Gets the native bytes allocated now.</summary>
    public long AllocatedBytes => Interlocked.Read(ref _allocatedBytes);

    /// <summary>Gets the samples a buffer holds.</summary>
    public int BatchSize => _batchSize;

    public BatchLayout? Layout => _layout;

    /// <summary>Fixes the layout on first use; every later batch must have the same one.</summary>
    public void EnsureLayout(BatchLayout layout)
    {
        lock (_lock)
        {
            _layout ??= layout;
        }
    }

    /// <summary>Gets the buffers reserved for chunks (<see cref="BufferReservation"/>) and not yet taken or released.</summary>
    public int Reserved
    {
        get
        {
            lock (_lock)
            {
                return _reservations.Count;
            }
        }
    }

    /// <summary>Gets the buffers neither leased nor reserved.</summary>
    public int Available => _available.Free;

    // The reservation protocol's side: only BufferReservation calls these. The pool knows every reservation that holds
    // a buffer, so a stopped loader gets back those whose chunks the stopped blocks dropped (ReclaimAllUndelivered).

    /// <summary>Waits for a free buffer for a reservation; a canceled wait takes none.</summary>
    internal ValueTask WaitToReserveAsync(CancellationToken cancellationToken) =>
        _available.Wait(0, CancellationToken.None) ? ValueTask.CompletedTask : new ValueTask(_available.WaitAsync(cancellationToken));

    /// <summary>As <see cref="WaitToReserveAsync"/>, blocking.</summary>
    internal void WaitToReserve(CancellationToken cancellationToken) => _available.Wait(cancellationToken);

    /// <summary>Records a reservation that holds the buffer its wait took.</summary>
    internal void Register(BufferReservation reservation)
    {
        lock (_lock)
        {
            _reservations.Add(reservation);
        }
    }

    /// <summary>Leases the buffer <paramref name="reservation"/> held, with room for <paramref name="required"/> bytes per tensor (empty: a full fixed-shape batch).</summary>
    internal Batch TakeReserved(BufferReservation reservation, ReadOnlySpan<long> required) => Take(required, reservation);

    /// <summary>Frees the buffer <paramref name="reservation"/> held: its chunk made no batch.</summary>
    internal void ReleaseReserved(BufferReservation reservation)
    {
        lock (_lock)
        {
            _reservations.Remove(reservation);
        }

        _available.Release();
    }

    /// <summary>Takes a free buffer if one is free now.</summary>
    public bool TryRent([NotNullWhen(true)] out Batch? batch, ReadOnlySpan<long> required = default)
    {
        batch = _available.Wait(0, CancellationToken.None) ? Take(required) : null;
        return batch is not null;
    }

    /// <summary>Takes a free buffer, blocking while none is free.</summary>
    public Batch Rent(CancellationToken cancellationToken, ReadOnlySpan<long> required = default)
    {
        _available.Wait(cancellationToken);
        return Take(required);
    }

    private Batch Take(ReadOnlySpan<long> required, BufferReservation? reservation = null)
    {
        BatchBuffer buffer;
        lock (_lock)
        {
            if (reservation is not null)
            {
                _reservations.Remove(reservation);
            }

            if (_disposed)
            {
                _available.Release();
                ObjectDisposedException.ThrowIf(_disposed, this);
            }

            buffer = _free.Count > 0 ? _free.Pop() : Allocate();
            _outstanding++;
        }

        // Grown outside the lock: the buffer is this lease's alone, and the other workers need not wait for the allocation.
        try
        {
            if (!required.IsEmpty && buffer.EnsureCapacity(required) is var grown && grown != 0)
            {
                Interlocked.Add(ref _allocatedBytes, grown);
                NoteSize(buffer);
            }
        }
        catch
        {
            lock (_lock)
            {
                _outstanding--;
                _free.Push(buffer);
            }

            _available.Release();
            throw;
        }

        // A new Batch per lease: a reference kept from an earlier lease of this buffer stays disposed.
        var batch = new Batch(this, _layout!, _batchSize, buffer);
        lock (_lock)
        {
            _leased.Add(batch);
        }

        return batch;
    }

    /// <summary>Marks a batch as delivered to the consumer, for leak detection.</summary>
    public void MarkHandedOut(Batch batch)
    {
        batch.HandedOut = true;
        Interlocked.Increment(ref _handedOut);
    }

    public void Return(Batch batch)
    {
        if (batch.HandedOut)
        {
            batch.HandedOut = false;
            Interlocked.Increment(ref _returnedAfterHandOut);
        }

        lock (_lock)
        {
            _leased.Remove(batch);
            _outstanding--;
            if (_disposed)
            {
                FreeIfIdle();
            }
            else if (_allocations.Count > Limit)
            {
                // The limit was lowered (the autotuner): memory goes back as buffers come back.
                FreeBuffer(batch.Buffer);
            }
            else
            {
                _free.Push(batch.Buffer);
            }
        }

        // Released after disposal too: the count of free buffers stays true (nothing can lease one any more).
        _available.Release();
    }

    private BatchBuffer Allocate()
    {
        var layout = _layout ?? throw new InvalidOperationException("The batch layout is not known yet.");
        var buffer = new BatchBuffer(layout, _batchSize);
        _allocations.Add(buffer);
        Interlocked.Add(ref _allocatedBytes, buffer.BlockBytes);
        NoteSize(buffer);
        return buffer;
    }

    /// <summary>
    /// Sets the buffers the pool may hold to <paramref name="limit"/> (at most <see cref="Capacity"/>). A lower limit
    /// takes effect as leased buffers come back; idle buffers beyond it are freed at once.
    /// </summary>
    public void Resize(int limit)
    {
        _available.Resize(Math.Clamp(limit, 1, _capacity));
        lock (_lock)
        {
            while (!_disposed && _allocations.Count > Limit && _free.TryPop(out var idle))
            {
                FreeBuffer(idle);
            }
        }
    }

    private void FreeBuffer(BatchBuffer buffer)
    {
        _allocations.Remove(buffer);
        Interlocked.Add(ref _allocatedBytes, -buffer.BlockBytes);
        buffer.Free();
    }

    private void NoteSize(BatchBuffer buffer)
    {
        long seen;
        while (buffer.BlockBytes > (seen = Interlocked.Read(ref _largestBufferBytes))
            && Interlocked.CompareExchange(ref _largestBufferBytes, buffer.BlockBytes, seen) != seen)
        {
        }
    }

    /// <summary>
    /// Frees the native memory once no buffer is leased; a buffer still held by the consumer frees it when disposed.
    /// </summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            FreeIfIdle();
        }
    }

    /// <summary>
    /// Returns every leased buffer the consumer never received and frees every reservation still held: once the stages
    /// have stopped, nothing else will (a stopped block drops the chunks in its queue, reservations and all).
    /// Call only when no stage and no queue holds a batch any more.
    /// </summary>
    public void ReclaimAllUndelivered()
    {
        Batch[] leased;
        BufferReservation[] reserved;
        lock (_lock)
        {
            leased = [.. _leased];
            reserved = [.. _reservations];
        }

        foreach (var reservation in reserved)
        {
            reservation.Release();
        }

        foreach (var batch in leased)
        {
            if (batch.IsLeased && !batch.HandedOut)
            {
                batch.Dispose();
            }
        }
    }

    private void FreeIfIdle()
    {
        if (_outstanding != 0)
        {
            return;
        }

        foreach (var buffer in _allocations)
        {
            buffer.Free();
        }

        _allocations.Clear();
        _free.Clear();
        Interlocked.Exchange(ref _allocatedBytes, 0);
    }
}
