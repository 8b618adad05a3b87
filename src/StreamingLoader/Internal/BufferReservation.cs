namespace StreamingLoader.Internal;

/// <summary>
/// A pool buffer promised to one chunk's batch before any worker touches the chunk. Reserving in the sampler's order
/// (at the source, or as the regroup stage hands chunks on in the order the collate block keeps) is what keeps an
/// ordered pipeline from deadlocking: the earliest unfinished batch always has its buffer, so finished later batches
/// waiting behind it never hold the buffer it needs. A reservation travels with its chunk from stage to stage and
/// ends exactly once: taken as the chunk's batch, or released when the chunk makes no batch (every sample skipped, an
/// error, a stop).
/// </summary>
/// <remarks>
/// Ending is atomic: of a <see cref="Take"/> and any number of <see cref="Release"/> calls, racing or not, exactly one
/// gives the buffer back or takes it. Releasing again is a no-op; taking twice, or taking a released reservation, is a
/// bug and throws. A chunk that is returned to the array pool releases what it still holds (<see cref="Chunk{T}.Return"/>),
/// so every path that drops a chunk gives its buffer back; the pool frees those a stopped block dropped with their
/// chunks (<see cref="BatchPool.ReclaimAllUndelivered"/>).
/// </remarks>
internal sealed class BufferReservation
{
    private BatchPool? _pool;

    private BufferReservation(BatchPool pool) => _pool = pool;

    /// <summary>Gets whether the reservation still holds its buffer (neither taken nor released).</summary>
    public bool IsHeld => Volatile.Read(ref _pool) is not null;

    /// <summary>Reserves a buffer of <paramref name="pool"/>, waiting while every buffer is leased or reserved.</summary>
    /// <returns>The reservation; a canceled wait reserves nothing.</returns>
    public static ValueTask<BufferReservation> ReserveAsync(BatchPool pool, CancellationToken cancellationToken)
    {
        var waiting = pool.WaitToReserveAsync(cancellationToken);
        return waiting.IsCompletedSuccessfully ? ValueTask.FromResult(Hold(pool)) : CompleteAsync(waiting, pool);

        static async ValueTask<BufferReservation> CompleteAsync(ValueTask waiting, BatchPool pool)
        {
            await waiting.ConfigureAwait(false);
            return Hold(pool);
        }
    }

    /// <summary>As <see cref="ReserveAsync"/>, blocking the calling thread (the regroup block's own).</summary>
    public static BufferReservation Reserve(BatchPool pool, CancellationToken cancellationToken)
    {
        pool.WaitToReserve(cancellationToken);
        return Hold(pool);
    }

    /// <summary>Takes the reserved buffer as a batch with room for <paramref name="required"/> bytes per tensor (empty: a full fixed-shape batch).</summary>
    /// <exception cref="InvalidOperationException">The reservation was already taken or released.</exception>
    public Batch Take(ReadOnlySpan<long> required = default)
    {
        var pool = Interlocked.Exchange(ref _pool, null)
            ?? throw new InvalidOperationException("This buffer reservation was already taken or released.");
        return pool.TakeReserved(this, required);
    }

    /// <summary>Gives the buffer back if the reservation still holds it.</summary>
    /// <returns>Whether this call gave it back (false: it was taken or released before).</returns>
    public bool Release()
    {
        if (Interlocked.Exchange(ref _pool, null) is not { } pool)
        {
            return false;
        }

        pool.ReleaseReserved(this);
        return true;
    }

    private static BufferReservation Hold(BatchPool pool)
    {
        var reservation = new BufferReservation(pool);
        pool.Register(reservation);
        return reservation;
    }
}
