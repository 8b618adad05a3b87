using StreamingLoader.Batching;
using StreamingLoader.Datasets;
using StreamingLoader.Internal;

namespace StreamingLoader.Tests;

/// <summary>
/// A consumer that holds batches slows the pipeline down but never deadlocks it while a buffer is left: buffers are
/// reserved in the sampler's order, so the earliest unfinished batch always has one.
/// </summary>
public class PoolTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task ConsumerHoldsSevenOfTenBuffers_SlowSample_EpochStillCompletes()
    {
        // Default pool: prefetch 4 + 2 × 2 workers + 2 = 10 buffers.
        var dataset = Dataset.FromFunc(400, i =>
        {
            if (i == 85)
            {
                Thread.Sleep(200);
            }

            return new Sample<float, long>(new float[] { i }, i);
        });
        await using var loader = Pipeline.From(dataset).Build(new LoaderOptions { BatchSize = 10, Workers = 2 });
        Assert.Equal(10, loader.Options.EffectivePoolSize);
        var held = new List<Batch>();
        var labels = new List<long>();
        await foreach (var batch in loader.ReadEpochAsync().WithCancellation(new CancellationTokenSource(Deadline).Token))
        {
            labels.AddRange(batch.Labels.AsSpan<long>().ToArray());
            if (held.Count < 7)
            {
                held.Add(batch);
            }
            else
            {
                batch.Dispose();
            }
        }

        held.ForEach(b => b.Dispose());
        Assert.Equal(Enumerable.Range(0, 400).Select(i => (long)i), labels);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public async Task DoubleBufferingConsumer_PoolOfTwiceTheWorkers_NeverStalls(int workers)
    {
        var random = new Random(workers);
        var slow = Enumerable.Range(0, 20).Select(_ => random.Next(2_000)).ToHashSet();
        var dataset = Dataset.FromFunc(2_000, i =>
        {
            if (slow.Contains(i))
            {
                Thread.Sleep(5);
            }

            return new Sample<float, long>(new float[] { i }, i);
        });
        for (var run = 0; run < 5; run++)
        {
            await using var loader = Pipeline.From(dataset).Build(new LoaderOptions { BatchSize = 8, Workers = workers, PoolSize = 2 * workers, Prefetch = 2 });
            Batch? previous = null;
            var count = 0;
            await foreach (var batch in loader.ReadEpochAsync().WithCancellation(new CancellationTokenSource(Deadline).Token))
            {
                previous?.Dispose();
                previous = batch;
                count += batch.Count;
            }

            previous?.Dispose();
            Assert.Equal(2_000, count);
        }
    }

    [Fact]
    public async Task ConsumerHoldsEveryBuffer_ClearErrorInsteadOfHanging()
    {
        await using var loader = Pipeline.From(TestData.Tensor(1_000)).Build(new LoaderOptions { BatchSize = 10, Workers = 2, PoolSize = 4 });
        var held = new List<Batch>();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var batch in loader.ReadEpochAsync().WithCancellation(new CancellationTokenSource(Deadline).Token))
            {
                held.Add(batch);
            }
        });
        Assert.Contains("All 4 batch buffers are held by the consumer", error.Message, StringComparison.Ordinal);
        held.ForEach(b => b.Dispose());
    }

    [Fact]
    public void Dispose_StaleReferenceToAnEarlierLease_DoesNotReleaseTheLaterOne()
    {
        using var pool = new BatchPool(capacity: 1, batchSize: 4);
        pool.EnsureLayout(new BatchLayout(ElementType.Float32, [2], ElementType.Int64, []));
        var first = pool.Rent(CancellationToken.None);
        first.Dispose();

        var second = pool.Rent(CancellationToken.None); // the same memory, a new lease
        first.Dispose();                                 // a stale reference: must not release the second lease

        Assert.Equal(1, pool.Outstanding);
        Assert.False(pool.TryRent(out _));
        second.Reset(epoch: 0, count: 4);
        Assert.Equal(4, second.Labels.AsSpan<long>().Length);
        Assert.Throws<ObjectDisposedException>(() => first.Labels.AsSpan<long>().Length);
        second.Dispose();
        Assert.Equal(0, pool.Outstanding);
    }
}
