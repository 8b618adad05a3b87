using StreamingLoader.Batching;
using StreamingLoader.Datasets;

namespace StreamingLoader.Tests.Structured;

/// <summary>
/// A whole loader (sampler, two workers, collation with padding and masks, prefetch, the consumer's reads) allocates
/// the same managed memory per batch at steady state whether its samples hold 16 tokens or 512: measured with
/// <see cref="GC.GetTotalAllocatedBytes(bool)"/> over every thread of the process, in a collection that runs alone.
/// </summary>
[Collection(LoaderAllocationTests.Name)]
public class LoaderAllocationTests(Xunit.Abstractions.ITestOutputHelper output)
{
    public const string Name = "Loader allocation (runs alone: it counts every thread's allocations)";
    private const int BatchSize = 64;
    private const int WarmUpBatches = 30;
    private const int MeasuredBatches = 60;

    [Fact]
    public async Task Loader_ShortLongAndMixedSequences_AllocatesTheSamePerBatchAtSteadyState()
    {
        var shortBytes = await PerBatchAsync(Document.Many(BatchSize * 100, i => 16 + (i % 8)));
        var longBytes = await PerBatchAsync(Document.Many(BatchSize * 100, i => 500 + (i % 13)));
        var mixedBytes = await PerBatchAsync(Document.Many(BatchSize * 100, Document.Spread(16, 512)));
        output.WriteLine($"per batch of {BatchSize} over {MeasuredBatches} batches: {shortBytes:N0} B with 16-23 tokens, {longBytes:N0} B with 500-512, {mixedBytes:N0} B with 16-512");

        // One token more per sample would be 64 x 4 bytes a batch; 500 more per sample, 128 KB. What the loader
        // allocates per batch (its messages, tasks, the consumer's awaits) does not depend on the tokens: the three
        // figures differ by scheduling noise only, well under a kilobyte a batch.
        Assert.InRange(longBytes - shortBytes, -2048, 2048);
        Assert.InRange(mixedBytes - shortBytes, -2048, 2048);
        Assert.InRange(shortBytes, 0, 32 * 1024);
    }

    private static async Task<double> PerBatchAsync(Document[] documents)
    {
        // The best of three rounds: a round that a timer or the GC's own bookkeeping lands in reads a little higher.
        var best = double.MaxValue;
        for (var round = 0; round < 3; round++)
        {
            await using var loader = Pipeline.From(Dataset.FromFunc(documents.Length, i => documents[i]))
                .Build(Document.Collator(new SequencePadding { MaxLength = 512 }), new LoaderOptions { BatchSize = BatchSize, Workers = 2, Shuffle = true, Seed = (ulong)round });
            var read = 0;
            var before = 0L;
            await foreach (var batch in loader.ReadEpochAsync())
            {
                batch.Dispose();
                if (++read == WarmUpBatches)
                {
                    before = GC.GetTotalAllocatedBytes(precise: true);
                }
                else if (read == WarmUpBatches + MeasuredBatches)
                {
                    best = Math.Min(best, (GC.GetTotalAllocatedBytes(precise: true) - before) / (double)MeasuredBatches);
                    break;
                }
            }
        }

        return best;
    }
}

[CollectionDefinition(LoaderAllocationTests.Name, DisableParallelization = true)]
#pragma warning disable CA1711, SA1402 // xunit's collection definition lives with the only class in it.
public sealed class LoaderAllocationCollection;
#pragma warning restore CA1711, SA1402
