using StreamingLoader.Batching;
using StreamingLoader.Internal;

namespace StreamingLoader.Tests.Autotune;

/// <summary>The resizable permits under the pool and the worker gates, and the pool's memory when its limit changes.</summary>
public sealed class ResizableSemaphoreTests
{
    [Fact]
    public void Resize_LowerWhilePermitsAreHeld_ReleasesPayTheDebtBeforeAnyPermitIsFree()
    {
        var semaphore = new ResizableSemaphore(4);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(semaphore.Wait(0, CancellationToken.None));
        }

        semaphore.Resize(1);
        semaphore.Release();
        semaphore.Release();
        semaphore.Release();
        Assert.False(semaphore.Wait(0, CancellationToken.None));

        semaphore.Release();
        Assert.True(semaphore.Wait(0, CancellationToken.None));
        Assert.False(semaphore.Wait(0, CancellationToken.None));
        Assert.Equal(1, semaphore.Limit);
    }

    [Fact]
    public void Resize_RaiseWhileADebtIsOwed_CancelsTheDebtFirst()
    {
        var semaphore = new ResizableSemaphore(4);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(semaphore.Wait(0, CancellationToken.None));
        }

        semaphore.Resize(1);
        semaphore.Resize(3);

        // Three of the four held permits come back as free: the limit is 3.
        for (var i = 0; i < 4; i++)
        {
            semaphore.Release();
        }

        Assert.Equal(3, semaphore.Free);
    }

    [Fact]
    public void Resize_LowerWithFreePermits_TakesThemAtOnce()
    {
        var semaphore = new ResizableSemaphore(8);
        Assert.True(semaphore.Wait(0, CancellationToken.None));
        semaphore.Resize(3);

        Assert.Equal(2, semaphore.Free);
        semaphore.Release();
        Assert.Equal(3, semaphore.Free);
    }

    [Fact]
    public async Task Resize_WhileManyThreadsTakeAndRelease_NeverMoreHoldersThanTheLimitOnceSettled()
    {
        var semaphore = new ResizableSemaphore(16);
        var holders = 0;
        var most = 0;
        var limit = 16;
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await semaphore.WaitAsync(CancellationToken.None);
                var now = Interlocked.Increment(ref holders);
                if (Volatile.Read(ref limit) == 2)
                {
                    InterlockedMax(ref most, now);
                }

                Thread.SpinWait(200);
                Interlocked.Decrement(ref holders);
                semaphore.Release();
            }
        })).ToArray();

        for (var round = 0; round < 50; round++)
        {
            semaphore.Resize(round % 2 == 0 ? 2 : 16);
            if (round % 2 == 0)
            {
                // Once the holders beyond the limit have released (nothing owed), at most 2 hold at a time.
                while (semaphore.Owed > 0)
                {
                    await Task.Yield();
                }

                Volatile.Write(ref limit, 2);
                await Task.Delay(5);
                Volatile.Write(ref limit, 16);
            }
            else
            {
                await Task.Delay(2);
            }
        }

        stop.Cancel();
        semaphore.Resize(16);
        await Task.WhenAll(workers);
        Assert.InRange(most, 1, 2);
        Assert.Equal(16, semaphore.Free);
    }

    [Fact]
    public void BatchPool_ResizeBelowTheBuffersAllocated_FreesIdleOnesAtOnceAndReturnedOnesAsTheyComeBack()
    {
        using var pool = new BatchPool(8, 4);
        pool.EnsureLayout(Collate.Tensors<float, long>().GetLayout(new Datasets.Sample<float, long>(new float[16], 0)));
        var leased = Enumerable.Range(0, 6).Select(_ => pool.Rent(CancellationToken.None)).ToList();
        var perBuffer = pool.AllocatedBytes / 6;
        leased[0].Dispose();
        leased[1].Dispose();
        Assert.Equal(6 * perBuffer, pool.AllocatedBytes);

        pool.Resize(3);
        Assert.Equal(4 * perBuffer, pool.AllocatedBytes);
        Assert.False(pool.TryRent(out _));

        leased[2].Dispose();
        Assert.Equal(3 * perBuffer, pool.AllocatedBytes);
        Assert.False(pool.TryRent(out _));
        leased[3].Dispose();
        Assert.True(pool.TryRent(out var again));
        again.Dispose();
        leased[4].Dispose();
        leased[5].Dispose();
        Assert.Equal(3 * perBuffer, pool.AllocatedBytes);
        Assert.Equal(perBuffer, pool.LargestBufferBytes);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
