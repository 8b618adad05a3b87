using StreamingLoader.Batching;
using StreamingLoader.Datasets;
using StreamingLoader.Internal;

namespace StreamingLoader.Tests.Structured;

public class BucketingTests
{
    private static readonly int[] Boundaries = [8, 16, 24];

    /// <summary>tf.data's bucket_by_sequence_length as documented: a bucket per boundary range, a batch when it is full, the rest in bucket order.</summary>
    private static List<long[]> Reference(IEnumerable<(long Index, int Length)> input, int[] boundaries, Func<int, int> batchSize, int maxTokens = -1)
    {
        var buckets = new List<(long Index, int Length)>[boundaries.Length + 1];
        var batches = new List<long[]>();
        foreach (var (index, length) in input)
        {
            var bucket = boundaries.Count(b => length >= b);
            var held = buckets[bucket] ??= [];
            if (maxTokens > 0 && held.Count > 0 && (held.Count + 1) * Math.Max(held.Max(h => h.Length), length) > maxTokens)
            {
                batches.Add([.. held.Select(h => h.Index)]);
                held.Clear();
            }

            held.Add((index, length));
            if (held.Count == batchSize(bucket))
            {
                batches.Add([.. held.Select(h => h.Index)]);
                held.Clear();
            }
        }

        batches.AddRange(buckets.Where(b => b is { Count: > 0 }).Select(b => b!.Select(h => h.Index).ToArray()));
        return batches;
    }

    private static async Task<List<long[]>> ReadAsync(DataLoader loader)
    {
        var batches = new List<long[]>();
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                batches.Add(batch.SampleIndices.ToArray());
            }
        }

        return batches;
    }

    private static async IAsyncEnumerable<Document> Stream(Document[] documents)
    {
        foreach (var document in documents)
        {
            await Task.Yield();
            yield return document;
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public async Task Stream_Buckets_EqualTfDataBucketBySequenceLength(int workers)
    {
        var documents = Document.Many(500, Document.Spread(1, 40));
        var bucketing = new LengthBucketing { Boundaries = Boundaries, BatchSizes = [16, 8, 6, 4] };
        await using var loader = Pipeline.From(Stream(documents))
            .Build(Document.Collator(), new LoaderOptions { BatchSize = 32, Workers = workers, Bucketing = bucketing });
        var expected = Reference(documents.Select(d => (d.Id, d.Tokens.Length)), Boundaries, b => bucketing.BatchSizes![b]);
        Assert.Equal(expected, await ReadAsync(loader));
        Assert.Null(loader.BatchesPerEpoch);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task Dataset_ShuffledThenBucketed_SameBatchesAtAnyWorkerCountAndReshuffledPerEpoch(int workers)
    {
        var documents = Document.Many(300, Document.Spread(1, 40));
        var options = new LoaderOptions { BatchSize = 10, Shuffle = true, Seed = 21, Workers = workers, Bucketing = new LengthBucketing { Boundaries = Boundaries } };
        await using var loader = Pipeline.From(Dataset.FromFunc(documents.Length, i => documents[i])).Build(Document.Collator(), options);
        for (var epoch = 0; epoch < 2; epoch++)
        {
            var order = Sampler.Random(documents.Length).GetIndices(21, epoch);
            var expected = Reference(order.Select(i => ((long)i, documents[i].Tokens.Length)), Boundaries, _ => 10);
            Assert.Equal(expected, await ReadAsync(loader));
        }
    }

    [Fact]
    public async Task TokenBudget_NoBatchPastTheBudget_EqualsTheReference()
    {
        var documents = Document.Many(400, Document.Spread(1, 60));
        var bucketing = new LengthBucketing { Boundaries = [16, 32], MaxTokens = 96 };
        await using var loader = Pipeline.From(Stream(documents))
            .Build(Document.Collator(), new LoaderOptions { BatchSize = 64, Workers = 2, Bucketing = bucketing });
        var batches = new List<long[]>();
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                Assert.True((long)batch.Count * batch["input_ids"].Shape[1] <= 96 || batch.Count == 1, $"{batch.Count} × {batch["input_ids"].Shape[1]} is past the budget");
                batches.Add(batch.SampleIndices.ToArray());
            }
        }

        Assert.Equal(Reference(documents.Select(d => (d.Id, d.Tokens.Length)), [16, 32], _ => 64, maxTokens: 96), batches);
    }

    [Fact]
    public async Task Bucketing_LengthsSixteenToFiveHundredTwelve_PaddingUnderFivePercentAgainstUnbucketed()
    {
        var documents = Document.Many(3000, Document.Spread(16, 512));
        async Task<double> PaddingFraction(LengthBucketing? bucketing)
        {
            await using var loader = Pipeline.From(Dataset.FromFunc(documents.Length, i => documents[i]))
                .Build(Document.Collator(new SequencePadding { MaxLength = 512 }), new LoaderOptions { BatchSize = 64, Shuffle = true, Seed = 5, Workers = 2, Bucketing = bucketing });
            long data = 0, padded = 0;
            await foreach (var batch in loader.ReadEpochAsync())
            {
                using (batch)
                {
                    data += batch["lengths"].AsSpan<long>().ToArray().Sum();
                    padded += batch["input_ids"].ElementCount;
                }
            }

            var counters = ((IMetricsSource)loader).Counters;
            Assert.Equal(data, Interlocked.Read(ref counters.SequenceSteps));
            Assert.Equal(padded - data, Interlocked.Read(ref counters.PaddingSteps));
            return (padded - data) / (double)padded;
        }

        var unbucketed = await PaddingFraction(null);
        var bucketed = await PaddingFraction(new LengthBucketing { Boundaries = [.. Enumerable.Range(1, 31).Select(i => 16 + (16 * i))] });
        Assert.InRange(unbucketed, 0.3, 0.6);
        Assert.InRange(bucketed, 0, 0.05);
    }

    [Theory]
    [InlineData(1, ErrorPolicy.Fail)]
    [InlineData(3, ErrorPolicy.Skip)]
    public async Task Resume_AtRandomSavePoints_DeliversExactlyTheRestOfTheUninterruptedRun(int workers, ErrorPolicy policy)
    {
        var documents = Document.Many(400, Document.Spread(1, 40));
        var dataset = Dataset.FromFunc(documents.Length, i => policy == ErrorPolicy.Skip && i % 37 == 3 ? throw new InvalidDataException($"bad {i}") : documents[i]);
        LoaderOptions Options() => new() { BatchSize = 8, Shuffle = true, Seed = 9, Workers = workers, ErrorPolicy = policy, Bucketing = new LengthBucketing { Boundaries = Boundaries } };
        List<long[]> uninterrupted;
        await using (var loader = Pipeline.From(dataset).Build(Document.Collator(), Options()))
        {
            uninterrupted = await ReadAsync(loader);
        }

        var random = new Random(4);
        for (var trial = 0; trial < 8; trial++)
        {
            var stopAfter = random.Next(1, uninterrupted.Count);
            var delivered = new List<long[]>();
            LoaderState state;
            await using (var first = Pipeline.From(dataset).Build(Document.Collator(), Options()))
            {
                await foreach (var batch in first.ReadEpochAsync())
                {
                    using (batch)
                    {
                        delivered.Add(batch.SampleIndices.ToArray());
                    }

                    if (delivered.Count == stopAfter)
                    {
                        break;
                    }
                }

                state = LoaderState.FromJson(first.State.ToJson());
            }

            await using var resumed = Pipeline.From(dataset).Build(Document.Collator(), Options(), state);
            delivered.AddRange(await ReadAsync(resumed));
            Assert.Equal(uninterrupted, delivered);
        }
    }

    [Fact]
    public async Task Bucketing_CollatorWithoutVariableLengthField_FailsTheLoaderSayingWhy()
    {
        await using var loader = Pipeline.From(TestData.Tensor(20)).Build(new LoaderOptions { BatchSize = 4, Bucketing = new LengthBucketing() });
        var error = await Assert.ThrowsAsync<DataLoaderException>(() => TestData.ReadEpochLabelsAsync(loader));
        Assert.Contains("LengthBucketing needs a variable-length field", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bucketing_BatchSizesNotOnePerBucket_RefusedAtBuild()
    {
        var error = Assert.Throws<ArgumentException>(() => Pipeline.From(Dataset.FromFunc(4, i => Document.Make(i, _ => 2))).Build(
            Document.Collator(), new LoaderOptions { Bucketing = new LengthBucketing { Boundaries = [4, 8], BatchSizes = [2, 2] } }));
        Assert.Contains("2 boundaries, so 3 buckets, but 2 batch sizes", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LengthBucketing { Boundaries = [4, 4] });
        Assert.Throws<ArgumentOutOfRangeException>(() => new LengthBucketing { MaxTokens = 0 });
    }
}
