using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using StreamingLoader.Batching;
using StreamingLoader.Sources;

namespace StreamingLoader.Text.Tests;

/// <summary>
/// <see cref="TokenizedText"/> into the core's structured batches: <c>Collate.Fields&lt;TokenizedText&gt;()</c> pads each
/// batch to its longest document with an attention mask, buckets by length, and the loader disposes every sample it
/// tokenized (its pooled buffer goes back) whether it was collated, rejected, dropped or still held when the loader stopped.
/// </summary>
public sealed class CollationTests : IDisposable
{
    private readonly TempFiles _files = new();

    [Fact]
    public async Task Fields_FortunesPaddedToLongestWithMask_RowsAreTiktokenIds()
    {
        var docs = FortunesCorpus.Files().SelectMany((f, label) => FortunesCorpus.Fortunes(f.Bytes).Take(60).Select(text => (Text: text, Label: (long)label))).ToList();
        var path = _files.Write("fortunes.jsonl", string.Concat(docs.Select(d => JsonSerializer.Serialize(new { text = Encoding.UTF8.GetString(d.Text), label = d.Label }) + "\n")));
        var expected = TiktokenReference.Encode([.. docs.Select(d => d.Text)]);
        var gpt2 = TextTokenizer.Gpt2();
        var collator = Collate.Fields<TokenizedText>()
            .Sequence("input_ids", t => t.Ids, new SequencePadding { MaxLength = 1024, Truncation = Truncation.Right }, padValue: gpt2.EndOfTextId, maskName: "attention_mask", elementType: ElementType.Int64)
            .Scalar("labels", t => t.Label ?? -1);

        await using var loader = Pipeline.From(JsonLines.Read(path))
            .Transform(Tokenize.JsonField(gpt2, "text", "label"))
            .Build(collator, new LoaderOptions { BatchSize = 32, Workers = 2 });
        var row = 0;
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                var ids = batch["input_ids"];
                var lengths = Enumerable.Range(row, batch.Count).Select(i => Math.Min(expected[i].Ids!.Length, 1024)).ToArray();
                Assert.Equal([batch.Count, lengths.Max()], ids.Shape.ToArray());
                Assert.Equal(ElementType.Int64, ids.ElementType);
                for (var s = 0; s < batch.Count; s++, row++)
                {
                    long[] padded = [.. expected[row].Ids!.Take(1024).Select(id => (long)id), .. Enumerable.Repeat((long)gpt2.EndOfTextId, lengths.Max() - lengths[s])];
                    Assert.Equal(padded, ids.Sample<long>(s).ToArray());
                    Assert.Equal(Enumerable.Range(0, lengths.Max()).Select(j => j < lengths[s] ? 1L : 0L), batch["attention_mask"].Sample<long>(s).ToArray());
                    Assert.Equal(docs[row].Label, batch["labels"].AsSpan<long>()[s]);
                }
            }
        }

        Assert.Equal(docs.Count, row);
    }

    [Fact]
    public async Task Loader_RejectsDropsAndAStopMidEpoch_EveryTokenizedTextDisposed()
    {
        // 3,000 lines of the fortunes; every 97th is not JSON text (a dead letter), some are longer than 48 tokens
        // (rejected while measured); shuffled and bucketed, partial buckets dropped; the loader is stopped mid-epoch.
        var lines = FortunesCorpus.Files().SelectMany(f => FortunesCorpus.Lines(f.Bytes)).Take(3000).ToList();
        var path = _files.Write("lines.jsonl", string.Concat(lines.Select((l, i) => (i % 97 == 5 ? "{\"text\":7}" : JsonSerializer.Serialize(new { text = Encoding.UTF8.GetString(l) })) + "\n")));
        var made = new ConcurrentQueue<TokenizedText>();
        var tokenize = Tokenize.JsonField(TextTokenizer.Gpt2(), "text");
        var collator = Collate.Fields<TokenizedText>().Sequence("input_ids", t => t.Ids, new SequencePadding { MaxLength = 48 }, elementType: ElementType.Int64);
        var options = new LoaderOptions
        {
            BatchSize = 16, Workers = 2, ShuffleBufferSize = 256, DropLast = true, ErrorPolicy = ErrorPolicy.Skip,
            Bucketing = new LengthBucketing { Boundaries = [8, 16, 32] },
        };

        async Task<long> RunAsync(int? stopAfter)
        {
            long delivered = 0;
            await using var loader = Pipeline.From(JsonLines.Read(path))
                .Transform((line, context) =>
                {
                    var text = tokenize(line, context);
                    made.Enqueue(text);
                    return text;
                })
                .Build(collator, options);
            var batches = 0;
            await foreach (var batch in loader.ReadEpochAsync())
            {
                using (batch)
                {
                    delivered += batch.Count;
                }

                if (++batches == stopAfter)
                {
                    break;
                }
            }

            return delivered;
        }

        var delivered = await RunAsync(null);
        Assert.InRange(delivered, 2000, 3000 - 30);
        Assert.Equal(5 * 16, await RunAsync(stopAfter: 5));

        Assert.True(made.Count > 3000, $"{made.Count} texts made");
        Assert.All(made, text => Assert.Throws<ObjectDisposedException>(() => text.Ids.Length));
    }

    public void Dispose() => _files.Dispose();
}
