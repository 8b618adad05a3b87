using StreamingLoader.Batching;

namespace StreamingLoader.Tests.Live;

public sealed class BatchReleaseTests
{
    private static async IAsyncEnumerable<int> Numbers(int count)
    {
        for (var i = 0; i < count; i++)
        {
            await Task.Yield();
            yield return i;
        }
    }

    [Fact]
    public async Task OnRelease_ConsumerDisposesEachBatch_RunsOncePerBatchWithConsumedTrue()
    {
        var collator = new RegisteringCollator();
        var loader = Pipeline.From(Numbers(1000)).Build(collator, new LoaderOptions { BatchSize = 10, Workers = 2 });
        var batches = 0;
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                Assert.Equal(batches, Volatile.Read(ref collator.Consumed));
                batches++;
            }

            Assert.Equal(batches, Volatile.Read(ref collator.Consumed));
        }

        // The loader reads ahead into the next epoch: those batches are released undelivered when it stops.
        await loader.DisposeAsync();
        Assert.Equal(100, batches);
        Assert.Equal(100, collator.Consumed);
        Assert.Equal(collator.Registered, collator.Consumed + collator.Unconsumed);
    }

    [Fact]
    public async Task OnRelease_LoaderStoppedWithBatchesUndelivered_RunsForThemWithConsumedFalse()
    {
        var collator = new RegisteringCollator();
        var loader = Pipeline.From(Numbers(100_000)).Build(collator, new LoaderOptions { BatchSize = 10, Workers = 2, Prefetch = 4 });
        await using (var batches = loader.ReadEpochAsync().GetAsyncEnumerator())
        {
            Assert.True(await batches.MoveNextAsync());
            batches.Current.Dispose();
            await Eventually.HoldsAsync(() => loader.PrefetchDepth() > 0, "a batch waits in the prefetch queue");
        }

        await loader.DisposeAsync();

        Assert.Equal(1, collator.Consumed);
        Assert.True(collator.Unconsumed > 0, "prefetched batches were released undelivered");
        Assert.Equal(collator.Registered, collator.Consumed + collator.Unconsumed);
    }

    private sealed class RegisteringCollator : Collator<int>
    {
        public int Registered;
        public int Consumed;
        public int Unconsumed;

        public override BatchLayout GetLayout(int firstSample) => new(ElementType.Float32, [1], ElementType.Int64, []);

        public override void Write(in int sample, int slot, Batch batch)
        {
            if (slot == 0)
            {
                Interlocked.Increment(ref Registered);
                BatchLease.OnRelease(batch, static (state, consumed) => ((RegisteringCollator)state!).Released(consumed), this);
            }

            batch.Features.SlotUnchecked<float>(slot)[0] = sample;
            batch.Labels.SlotUnchecked<long>(slot)[0] = sample;
        }

        private void Released(bool consumed) => Interlocked.Increment(ref consumed ? ref Consumed : ref Unconsumed);
    }
}
