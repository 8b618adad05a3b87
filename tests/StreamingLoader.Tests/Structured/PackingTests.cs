using StreamingLoader.Batching;
using StreamingLoader.Datasets;

namespace StreamingLoader.Tests.Structured;

public class PackingTests
{
    private const int Eot = -7;

    /// <summary>
    /// The reference packer, written from the definition: every document's tokens then the end-of-text token, one
    /// stream, rows of <paramref name="length"/>, batches of <paramref name="rows"/> rows; positions and document
    /// numbers restart at each document and each row; the last row padded with the end-of-text token.
    /// </summary>
    private static List<(long[] Ids, long[] Positions, long[] Documents, long[] Mask)> Reference(IEnumerable<Document> documents, int length, int rows)
    {
        var stream = new List<(long Token, int Document, int Offset)>();
        var d = 0;
        foreach (var document in documents)
        {
            stream.AddRange(document.Tokens.Select((t, j) => ((long)t, d, j)));
            stream.Add((Eot, d, document.Tokens.Length));
            d++;
        }

        var batches = new List<(long[], long[], long[], long[])>();
        for (var start = 0; start < stream.Count; start += length * rows)
        {
            var steps = Math.Min(length * rows, stream.Count - start);
            var used = (steps + length - 1) / length * length;
            var (ids, positions, docs, mask) = (new long[used], new long[used], new long[used], new long[used]);
            for (var k = 0; k < used; k++)
            {
                if (k >= steps)
                {
                    (ids[k], positions[k], docs[k], mask[k]) = (Eot, 0, -1, 0);
                    continue;
                }

                var (token, document, offset) = stream[start + k];
                var rowStart = k / length * length;
                var first = stream[start + rowStart].Document;
                ids[k] = token;
                docs[k] = document - first;
                positions[k] = document == first ? k - rowStart : offset;
                mask[k] = 1;
            }

            batches.Add((ids, positions, docs, mask));
        }

        return batches;
    }

    private static async Task<List<(long[] Ids, long[] Positions, long[] Documents, long[] Mask)>> ReadAsync(DataLoader loader, int stopAfter = int.MaxValue)
    {
        var batches = new List<(long[], long[], long[], long[])>();
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                batches.Add((batch["input_ids"].AsSpan<long>().ToArray(), batch["position_ids"].AsSpan<long>().ToArray(),
                    batch["document_ids"].AsSpan<long>().ToArray(), batch["attention_mask"].AsSpan<long>().ToArray()));
            }

            if (batches.Count == stopAfter)
            {
                break;
            }
        }

        return batches;
    }

    private static Collator<Document> Packed(int length) => Collate.Packed<Document>(d => d.Tokens, new SequencePacking { Length = length, EndOfText = Eot });

    private static async IAsyncEnumerable<Document> Stream(Document[] documents)
    {
        foreach (var document in documents)
        {
            await Task.Yield();
            yield return document;
        }
    }

    [Theory]
    [InlineData(1, 16)]
    [InlineData(4, 16)]
    [InlineData(3, 7)]
    public async Task Stream_Packed_EqualsTheReferenceAndOnlyTheLastRowIsPadded(int workers, int length)
    {
        // Lengths from 0 (an end-of-text token alone) to several rows long.
        var documents = Document.Many(300, Document.Spread(0, 50));
        await using var loader = Pipeline.From(Stream(documents)).Build(Packed(length), new LoaderOptions { BatchSize = 8, Workers = workers });
        var actual = await ReadAsync(loader);
        var expected = Reference(documents, length, 8);
        Assert.Equal(expected.Count, actual.Count);
        for (var b = 0; b < expected.Count; b++)
        {
            Assert.Equal(expected[b].Ids, actual[b].Ids);
            Assert.Equal(expected[b].Positions, actual[b].Positions);
            Assert.Equal(expected[b].Documents, actual[b].Documents);
            Assert.Equal(expected[b].Mask, actual[b].Mask);
        }

        Assert.Equal(actual.Count - 1, actual.FindLastIndex(b => b.Mask.Contains(0)) is var last && last < 0 ? actual.Count - 1 : last);
        var statistics = loader.Statistics[0];
        var rows = actual.Sum(b => b.Ids.Length / length);
        Assert.Equal(rows, statistics.Delivered);
        Assert.Equal(statistics.Read, statistics.Delivered + statistics.Skipped + statistics.Failed + statistics.Dropped);
    }

    [Fact]
    public async Task Dataset_ShuffledAndPacked_FollowsTheSamplerOrder()
    {
        var documents = Document.Many(200, Document.Spread(1, 30));
        await using var loader = Pipeline.From(Dataset.FromFunc(documents.Length, i => documents[i]))
            .Build(Packed(32), new LoaderOptions { BatchSize = 4, Shuffle = true, Seed = 8, Workers = 2 });
        var order = Sampler.Random(documents.Length).GetIndices(8, 0);
        var expected = Reference(order.Select(i => documents[i]), 32, 4);
        Assert.Equal(expected.Select(b => b.Ids), (await ReadAsync(loader)).Select(b => b.Ids));
    }

    [Fact]
    public async Task Packed_DropLast_DropsThePartialBatchAndCountsItsDocuments()
    {
        var documents = Document.Many(100, Document.Spread(1, 30));
        await using var loader = Pipeline.From(Stream(documents)).Build(Packed(16), new LoaderOptions { BatchSize = 4, DropLast = true });
        var actual = await ReadAsync(loader);
        var expected = Reference(documents, 16, 4);
        Assert.Equal(expected.SkipLast(1).Select(b => b.Ids), actual.Select(b => b.Ids));
        Assert.All(actual, b => Assert.DoesNotContain(0L, b.Mask));
        var statistics = loader.Statistics[0];
        Assert.True(statistics.Dropped > 0);
        Assert.Equal(statistics.Read, statistics.Delivered + statistics.Dropped);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task Resume_InTheMiddleOfADocument_DeliversExactlyTheRest(int workers)
    {
        // Documents longer than a batch, so most save points fall inside one.
        var documents = Document.Many(60, Document.Spread(10, 150));
        LoaderOptions Options() => new() { BatchSize = 2, Workers = workers };
        List<(long[] Ids, long[] Positions, long[] Documents, long[] Mask)> uninterrupted;
        await using (var loader = Pipeline.From(Stream(documents)).Build(Packed(24), Options()))
        {
            uninterrupted = await ReadAsync(loader);
        }

        var random = new Random(6);
        for (var trial = 0; trial < 6; trial++)
        {
            var stopAfter = random.Next(1, uninterrupted.Count);
            List<(long[] Ids, long[] Positions, long[] Documents, long[] Mask)> delivered;
            LoaderState state;
            await using (var first = Pipeline.From(Stream(documents)).Build(Packed(24), Options()))
            {
                delivered = await ReadAsync(first, stopAfter);
                state = LoaderState.FromJson(first.State.ToJson());
            }

            await using var resumed = Pipeline.From(Stream(documents)).Build(Packed(24), Options(), state);
            delivered.AddRange(await ReadAsync(resumed));
            Assert.Equal(uninterrupted.Select(b => b.Ids), delivered.Select(b => b.Ids));
            Assert.Equal(uninterrupted.Select(b => b.Positions), delivered.Select(b => b.Positions));
        }
    }

    [Fact]
    public void Packed_WithBucketing_RefusedAtBuild()
    {
        var error = Assert.Throws<ArgumentException>(() => Pipeline.From(Dataset.FromFunc(4, i => Document.Make(i, _ => 2)))
            .Build(Packed(8), new LoaderOptions { Bucketing = new LengthBucketing() }));
        Assert.Contains("Bucketing cannot be combined with a packing collator", error.Message, StringComparison.Ordinal);
    }
}
