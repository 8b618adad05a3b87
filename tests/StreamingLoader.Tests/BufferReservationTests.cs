using FsCheck;
using FsCheck.Fluent;
using StreamingLoader.Batching;
using StreamingLoader.Internal;

namespace StreamingLoader.Tests;

/// <summary>
/// The buffer reservation protocol on its own: a reservation ends once (taken or released), whatever the order or the
/// race of the calls, and the pool's counts always say how many buffers are reserved, leased and free.
/// </summary>
public class BufferReservationTests
{
    private enum Step
    {
        Reserve,
        Take,
        Release,
        DisposeBatch,
    }

    private enum End
    {
        Held,
        Taken,
        Released,
    }

    [Fact]
    public void AnySequenceOfSteps_PoolCountsFollowTheModel_EachReservationEndsOnce()
    {
        var scenarios =
            from capacity in Gen.Choose(1, 4)
            from steps in Gen.ListOf(
                from step in Gen.Elements(Enum.GetValues<Step>())
                from pick in Gen.Choose(0, 1000)
                select (step, pick)).Resize(40)
            select (capacity, steps: steps.ToArray());
        Prop.ForAll(scenarios.ToArbitrary(), s => Run(s.capacity, s.steps)).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    [Fact]
    public async Task TakeAndRelease_RacingOnOneReservation_ExactlyOneEndsIt()
    {
        using var pool = NewPool(capacity: 1);
        for (var round = 0; round < 300; round++)
        {
            var reservation = BufferReservation.Reserve(pool, CancellationToken.None);
            int taken = 0, released = 0, refused = 0;
            Batch? batch = null;
            using var start = new Barrier(4);
            var racers = Enumerable.Range(0, 4).Select(i => Task.Run(() =>
            {
                start.SignalAndWait();
                if (i % 2 == 0)
                {
                    try
                    {
                        batch = reservation.Take();
                        Interlocked.Increment(ref taken);
                    }
                    catch (InvalidOperationException)
                    {
                        Interlocked.Increment(ref refused);
                    }
                }
                else if (reservation.Release())
                {
                    Interlocked.Increment(ref released);
                }
            })).ToArray();
            await Task.WhenAll(racers);

            Assert.Equal(1, taken + released);
            Assert.Equal(2 - taken, refused);
            Assert.Equal(0, pool.Reserved);
            Assert.Equal(taken, pool.Outstanding);
            Assert.Equal(1 - taken, pool.Available);
            batch?.Dispose();
            Assert.Equal(1, pool.Available);
        }
    }

    [Fact]
    public async Task ReserveAsync_CanceledWhilePoolFull_ReservesNothingAndLeavesTheNextBufferFree()
    {
        using var pool = NewPool(capacity: 1);
        var first = await BufferReservation.ReserveAsync(pool, CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var waiting = BufferReservation.ReserveAsync(pool, cancel.Token).AsTask();
        Assert.False(waiting.IsCompleted);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(1, pool.Reserved);

        // The canceled waiter must not swallow the buffer released next.
        Assert.True(first.Release());
        Assert.Equal((0, 1), (pool.Reserved, pool.Available));
        Assert.Throws<OperationCanceledException>(() => BufferReservation.Reserve(pool, cancel.Token));
        Assert.Equal((0, 1), (pool.Reserved, pool.Available));
    }

    [Fact]
    public void Chunk_ReservationMovesWithContinueAndGrow_ReturnReleasesItOnce()
    {
        using var pool = NewPool(capacity: 2);
        var source = Chunk<int>.Rent(4, epoch: 0);
        source.Reservation = BufferReservation.Reserve(pool, CancellationToken.None);
        var output = Chunk<long>.Rent(4, epoch: 0).Continue(source);
        Assert.Null(source.Reservation);
        source.Return();
        Assert.Equal(1, pool.Reserved);

        output.Grow(64);
        Assert.True(output.Reservation!.IsHeld);
        output.Return();
        output.Return();
        Assert.Equal((0, 2), (pool.Reserved, pool.Available));

        var taken = Chunk<int>.Rent(4, epoch: 0);
        taken.Reservation = BufferReservation.Reserve(pool, CancellationToken.None);
        using var batch = taken.Reservation.Take();
        taken.Return();
        Assert.Equal((0, 1, 1), (pool.Reserved, pool.Outstanding, pool.Available));
        Assert.Throws<InvalidOperationException>(() => taken.Reservation.Take());
    }

    private static bool Run(int capacity, (Step Step, int Pick)[] steps)
    {
        using var pool = NewPool(capacity);
        var reservations = new List<(BufferReservation Reservation, End End)>();
        var batches = new List<Batch>();
        foreach (var (step, pick) in steps)
        {
            var held = reservations.Count(r => r.End == End.Held);
            switch (step)
            {
                case Step.Reserve when held + batches.Count < capacity:
                    var reserved = pick % 2 == 0
                        ? BufferReservation.Reserve(pool, CancellationToken.None)
                        : BufferReservation.ReserveAsync(pool, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                    reservations.Add((reserved, End.Held));
                    break;
                case Step.Reserve:
                    // The pool is full: a wait that is canceled reserves nothing.
                    using (var cancel = new CancellationTokenSource())
                    {
                        var waiting = BufferReservation.ReserveAsync(pool, cancel.Token).AsTask();
                        cancel.Cancel();
                        if (!Throws<OperationCanceledException>(() => waiting.GetAwaiter().GetResult()))
                        {
                            return false;
                        }
                    }

                    break;
                case Step.Take when reservations.Count > 0:
                    var (reservation, end) = reservations[pick % reservations.Count];
                    if (end == End.Held)
                    {
                        batches.Add(reservation.Take());
                        reservations[pick % reservations.Count] = (reservation, End.Taken);
                    }
                    else if (!Throws<InvalidOperationException>(() => reservation.Take()))
                    {
                        return false;
                    }

                    break;
                case Step.Release when reservations.Count > 0:
                    var (released, was) = reservations[pick % reservations.Count];
                    if (released.Release() != (was == End.Held))
                    {
                        return false;
                    }

                    reservations[pick % reservations.Count] = (released, was == End.Held ? End.Released : was);
                    break;
                case Step.DisposeBatch when batches.Count > 0:
                    var batch = batches[pick % batches.Count];
                    batch.Dispose();
                    batch.Dispose();
                    batches.Remove(batch);
                    break;
            }

            held = reservations.Count(r => r.End == End.Held);
            if (pool.Reserved != held || pool.Outstanding != batches.Count || pool.Available != capacity - held - batches.Count
                || reservations.Any(r => r.Reservation.IsHeld != (r.End == End.Held)))
            {
                return false;
            }
        }

        reservations.ForEach(r => r.Reservation.Release());
        batches.ForEach(b => b.Dispose());
        return pool.Reserved == 0 && pool.Outstanding == 0 && pool.Available == capacity;
    }

    private static bool Throws<TException>(Action action)
        where TException : Exception
    {
        try
        {
            action();
            return false;
        }
        catch (TException)
        {
            return true;
        }
    }

    private static BatchPool NewPool(int capacity)
    {
        var pool = new BatchPool(capacity, batchSize: 4);
        pool.EnsureLayout(new BatchLayout(ElementType.Float32, [2], ElementType.Int64, []));
        return pool;
    }
}
