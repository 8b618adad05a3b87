using StreamingLoader.Batching;
using StreamingLoader.Internal;

namespace StreamingLoader.Tests.Structured;

/// <summary>
/// At steady state (buffers grown to the longest batch seen) collating a batch of variable-length samples allocates
/// the same managed memory whatever the samples' lengths: measured on this thread with
/// <see cref="GC.GetAllocatedBytesForCurrentThread"/> around the loader's own <see cref="BatchWriter{T}"/>, which
/// measures, pads, writes and masks each batch.
/// </summary>
public class AllocationTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int BatchSize = 64;

    [Theory]
    [InlineData(PaddingSide.Right)]
    [InlineData(PaddingSide.Left)]
    public void BatchWriter_ShortAndLongSequences_AllocateTheSamePerBatch(PaddingSide side)
    {
        var collator = Document.Collator(new SequencePadding { MaxLength = 512, Side = side, MultipleOf = 8 });
        var lengths = Document.Spread(16, 512);
        var shortDocuments = Document.Many(BatchSize, i => 16 + (i % 8));
        var longDocuments = Document.Many(BatchSize, i => 500 + (i % 13));
        var mixed = Document.Many(BatchSize, lengths);
        using var pool = new BatchPool(capacity: 2, BatchSize);
        pool.EnsureLayout(collator.GetLayout(longDocuments[0]));
        var errors = new ErrorHandler(new LoaderOptions(), new SampleAccounting(), TimeProvider.System, CancellationToken.None);
        var writer = new BatchWriter<Document>(collator, pool, errors, disposesSamples: false);
        var inFlight = new InFlightWork(1, TimeProvider.System);
        var written = 0L;

        double PerBatch(Document[] documents, int batches)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var b = 0; b < batches; b++)
            {
                var chunk = Chunk<Document>.Rent(BatchSize, 0);
                documents.CopyTo(chunk.Items, 0);
                for (var i = 0; i < documents.Length; i++)
                {
                    chunk.Indices[i] = i;
                }

                chunk.Count = documents.Length;
                var slot = inFlight.Enter(0);
                var measured = writer.Measure(chunk, slot)!;
                var batch = pool.Rent(CancellationToken.None, measured.Required);
                written += writer.Write(chunk, batch, measured, slot) * (long)batch["input_ids"].Shape[1];
                measured.Return();
                batch.Dispose();
                chunk.Return();
                slot.Exit();
            }

            return (GC.GetAllocatedBytesForCurrentThread() - before) / (double)batches;
        }

        // Warm-up: the buffers grow to the longest batch, the code is compiled.
        for (var i = 0; i < 3; i++)
        {
            PerBatch(longDocuments, 5);
            PerBatch(shortDocuments, 5);
            PerBatch(mixed, 5);
        }

        var shortBytes = PerBatch(shortDocuments, 200);
        var longBytes = PerBatch(longDocuments, 200);
        var mixedBytes = PerBatch(mixed, 200);
        output.WriteLine($"per batch of {BatchSize}: {shortBytes:F0} B with 16-23 tokens, {longBytes:F0} B with 500-512, {mixedBytes:F0} B with 16-512 ({written:N0} padded steps written)");
        Assert.Equal(shortBytes, longBytes);
        Assert.Equal(shortBytes, mixedBytes);
        // A few small objects per batch (the chunk this test makes, the measurements' arrays), none per sample or token:
        // 1,192 bytes when measured.
        Assert.InRange(shortBytes, 0, 2048);
    }
}
