using StreamingLoader.Datasets;
using StreamingLoader.Internal;

namespace StreamingLoader.Tests;

/// <summary>
/// The short version of the slow-consumer soak (the stress tool's <c>soak</c>, tests/StreamingLoader.Stress, is the long one): a consumer many times
/// slower than the loader, epoch after epoch; memory stays flat and the pool's leases within its size.
/// </summary>
[Collection(UnobservedTaskGroup.Name)]
public class SoakTests
{
    /// <summary>A batch of 64 samples of 16 floats and a long label.</summary>
    private const long BytesPerBatch = 64 * ((16 * sizeof(float)) + sizeof(long));

    [Fact]
    public async Task SlowConsumer_ManyEpochs_MemoryFlatAndLeasesWithinThePool()
    {
        var loader = (DataflowLoader<Sample<float, long>, Sample<float, long>>)Pipeline.From(TestData.Tensor(5_000, features: 16))
            .Build(new LoaderOptions { BatchSize = 64, Shuffle = true, Workers = 2 });
        await using (loader)
        {
            var pool = loader.Pool;
            long baselineHeap = 0, maxHeap = 0, minHeap = long.MaxValue, maxLeases = 0;
            var (epochs, batches) = (0, 0);

            // Three epochs and more (79 batches each), the heap measured every 40 batches: counted, not timed, so a
            // busy machine makes the test slower, never different.
            await foreach (var batch in loader.ReadEpochsAsync(int.MaxValue))
            {
                using (batch)
                {
                    maxLeases = Math.Max(maxLeases, pool.Outstanding);
                    epochs = (int)batch.Epoch + 1;
                }

                await Task.Delay(1); // the slow training step
                if (++batches % 40 != 0)
                {
                    continue;
                }

                var heap = GC.GetTotalMemory(forceFullCollection: true);
                baselineHeap = baselineHeap == 0 ? heap : baselineHeap;
                (minHeap, maxHeap) = (Math.Min(minHeap, heap), Math.Max(maxHeap, heap));

                // The pool makes a buffer only when none is free, so how many it has made depends on the timing (8 or
                // 9 of 10 were seen): bounded by its capacity, never more.
                Assert.InRange(pool.AllocatedBytes, BytesPerBatch, pool.Capacity * BytesPerBatch);
                if (batches >= 280)
                {
                    break;
                }
            }

            Assert.True(epochs >= 3, $"only {epochs} epochs ran");
            Assert.InRange(maxLeases, 1, pool.Capacity);
            // Growth is what a leak makes; the heap may also shrink below the first measure, as what earlier test
            // classes left (pooled arrays, finalizable objects) is let go in the same process.
            Assert.True(maxHeap - baselineHeap <= (baselineHeap / 10) + (1 << 20), $"managed heap {minHeap:N0}–{maxHeap:N0} bytes after warm-up (baseline {baselineHeap:N0})");
        }
    }
}
