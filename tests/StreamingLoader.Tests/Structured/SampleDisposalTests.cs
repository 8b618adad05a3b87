using StreamingLoader.Batching;
using StreamingLoader.Datasets;

namespace StreamingLoader.Tests.Structured;

/// <summary>
/// Samples a transform makes are the loader's: when their type is disposable (a tokenized text with a pooled buffer),
/// each is disposed exactly once and never read after it, whether it was written into a batch, rejected while measured
/// or written, dropped (drop-last, a resumed run's replay), or still held in a shuffle buffer, a bucket or a queue
/// between blocks when the loader stops. A dataset's own items are never disposed.
/// </summary>
public class SampleDisposalTests
{
    private static readonly int[] s_boundaries = [16, 32, 48];

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task Epoch_ShuffledBucketedWithRejectsAndDropLast_EachSampleDisposedOnceNeverReadAfter(int workers)
    {
        var ledger = new DisposalLedger();
        var documents = Document.Many(600, Document.Spread(1, 80));
        await using (var loader = Pipeline.From(Stream(documents))
            .Transform((d, _) => ledger.Make(d, unreadable: d.Id % 41 == 3))
            .Build(
                TrackedDocument.Collator(new SequencePadding { MaxLength = 64 }, failWrite: d => d.Id % 37 == 5),
                new LoaderOptions
                {
                    BatchSize = 16, Workers = workers, ShuffleBufferSize = 50, DropLast = true, ErrorPolicy = ErrorPolicy.Skip,
                    Bucketing = new LengthBucketing { Boundaries = s_boundaries },
                }))
        {
            var delivered = 0L;
            await foreach (var batch in loader.ReadEpochAsync())
            {
                using (batch)
                {
                    delivered += batch.Count;
                }
            }

            // Rejected: unreadable (measured for its bucket), longer than 64 (measured for its batch), refused while
            // written; the partial buckets were dropped.
            var statistics = loader.Statistics[0];
            var reasons = loader.DeadLetters.Select(d => d.Reason).ToList();
            Assert.Equal(delivered, statistics.Delivered);
            Assert.Contains(reasons, r => r.Contains("more than its maximum of 64", StringComparison.Ordinal));
            Assert.Contains(reasons, r => r.Contains("refused", StringComparison.Ordinal));
            Assert.Contains(reasons, r => r.Contains("unreadable", StringComparison.Ordinal));
            Assert.True(statistics.Dropped > 0, $"dropped {statistics.Dropped}");
            Assert.Equal(statistics.Read, statistics.Delivered + statistics.Skipped + statistics.Dropped);
        }

        Assert.Empty(ledger.Problems);
        Assert.Empty(ledger.Undisposed());
        Assert.True(ledger.Made >= documents.Length);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task Packed_DocumentsAcrossBatchBoundaries_DisposedOnceByTheLastBatchThatHoldsThem(int workers)
    {
        const int eot = -7;
        var ledger = new DisposalLedger();
        var documents = Document.Many(300, Document.Spread(0, 90));
        var stream = new List<long>();
        await using (var loader = Pipeline.From(Stream(documents))
            .Transform((d, _) => ledger.Make(d))
            .Build(Collate.Packed<TrackedDocument>(d => d.Tokens, new SequencePacking { Length = 16, EndOfText = eot }), new LoaderOptions { BatchSize = 2, Workers = workers }))
        {
            await foreach (var batch in loader.ReadEpochAsync())
            {
                using (batch)
                {
                    var ids = batch["input_ids"].AsSpan<long>();
                    var mask = batch["attention_mask"].AsSpan<long>();
                    for (var i = 0; i < ids.Length; i++)
                    {
                        if (mask[i] == 1)
                        {
                            stream.Add(ids[i]);
                        }
                    }
                }
            }
        }

        // Documents up to 90 tokens in batches of 32: most cross a boundary, some span several batches.
        Assert.Equal(documents.SelectMany(d => d.Tokens.Select(t => (long)t).Append(eot)), stream);
        Assert.Empty(ledger.Problems);
        Assert.Empty(ledger.Undisposed());
    }

    [Theory]
    [InlineData("shuffled and bucketed")]
    [InlineData("packed")]
    public async Task Dispose_MidEpoch_SamplesHeldInBuffersBucketsAndQueuesAreDisposed(string kind)
    {
        var ledger = new DisposalLedger();
        var documents = Document.Many(2_000, Document.Spread(1, 60));
        var collator = kind == "packed"
            ? Collate.Packed<TrackedDocument>(d => d.Tokens, new SequencePacking { Length = 32 })
            : (Collator<TrackedDocument>)TrackedDocument.Collator();
        var options = new LoaderOptions { BatchSize = 8, Workers = 2, ShuffleBufferSize = 300 };
        if (kind != "packed")
        {
            options.Bucketing = new LengthBucketing { Boundaries = s_boundaries };
        }

        var loader = Pipeline.From(Stream(documents)).Transform((d, _) => ledger.Make(d)).Build(collator, options);
        var read = 0;
        await foreach (var batch in loader.ReadEpochAsync())
        {
            batch.Dispose();
            if (++read == 3)
            {
                break;
            }
        }

        // Let the pipeline fill its buffers and queues before it stops.
        await Task.Delay(200);
        await loader.DisposeAsync();

        Assert.Empty(loader.AbandonedWork);
        Assert.True(ledger.Made > 300, $"only {ledger.Made} samples were made");
        Assert.Empty(ledger.Problems);
        Assert.Empty(ledger.Undisposed());
    }

    [Fact]
    public async Task CollateFailsUnderFail_SamplesOfTheFailedAndLaterChunksAreDisposed()
    {
        var ledger = new DisposalLedger();
        var documents = Document.Many(500, Document.Spread(1, 40));
        var loader = Pipeline.From(Stream(documents))
            .Transform((d, _) => ledger.Make(d))
            .Build(TrackedDocument.Collator(failWrite: d => d.Id == 200), new LoaderOptions { BatchSize = 8, Workers = 2, ShuffleBufferSize = 64, Bucketing = new LengthBucketing { Boundaries = s_boundaries } });
        var error = await Assert.ThrowsAsync<DataLoaderException>(async () =>
        {
            await foreach (var batch in loader.ReadEpochAsync())
            {
                batch.Dispose();
            }
        });
        await loader.DisposeAsync();

        Assert.Contains("document 200 refused", error.Message, StringComparison.Ordinal);
        Assert.Empty(ledger.Problems);
        Assert.Empty(ledger.Undisposed());
    }

    [Fact]
    public async Task Resume_ReplayedBatchesAreDroppedAndTheirSamplesDisposed()
    {
        var ledger = new DisposalLedger();
        var documents = Document.Many(400, Document.Spread(1, 40));
        var dataset = Dataset.FromFunc(documents.Length, i => documents[i]);
        LoaderOptions Options() => new() { BatchSize = 8, Shuffle = true, Seed = 9, Workers = 2, Bucketing = new LengthBucketing { Boundaries = s_boundaries } };
        LoaderState state;
        var delivered = 0L;
        await using (var first = Pipeline.From(dataset).Transform((d, _) => ledger.Make(d)).Build(TrackedDocument.Collator(), Options()))
        {
            await foreach (var batch in first.ReadEpochAsync())
            {
                delivered += batch.Count;
                batch.Dispose();
                if (delivered >= 100)
                {
                    break;
                }
            }

            state = first.State;
        }

        await using (var resumed = Pipeline.From(dataset).Transform((d, _) => ledger.Make(d)).Build(TrackedDocument.Collator(), Options(), state))
        {
            await foreach (var batch in resumed.ReadEpochAsync())
            {
                delivered += batch.Count;
                batch.Dispose();
            }
        }

        Assert.Equal(documents.Length, delivered);
        Assert.Empty(ledger.Problems);
        Assert.Empty(ledger.Undisposed());
    }

    [Fact]
    public async Task DatasetItems_NoTransform_AreTheDatasetsAndNeverDisposed()
    {
        var ledger = new DisposalLedger();
        var samples = Document.Many(100, Document.Spread(1, 40)).Select(d => ledger.Make(d)).ToArray();
        await using var loader = Pipeline.From(Dataset.FromFunc(samples.Length, i => samples[i]))
            .Build(TrackedDocument.Collator(), new LoaderOptions { BatchSize = 16, Workers = 2, Shuffle = true, Bucketing = new LengthBucketing { Boundaries = s_boundaries } });
        for (var epoch = 0; epoch < 2; epoch++)
        {
            var count = 0;
            await foreach (var batch in loader.ReadEpochAsync())
            {
                count += batch.Count;
                batch.Dispose();
            }

            Assert.Equal(samples.Length, count);
        }

        Assert.Empty(ledger.Problems);
        Assert.Equal(samples.Length, ledger.Undisposed().Length);
    }

    private static async IAsyncEnumerable<Document> Stream(Document[] documents)
    {
        foreach (var document in documents)
        {
            await Task.Yield();
            yield return document;
        }
    }
}
