using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using StreamingLoader.Batching;
using StreamingLoader.Sources;

namespace StreamingLoader.Text.Tests;

/// <summary>
/// The C# blocks of src/StreamingLoader.Text/README.md appear in this file as they are (so they compile), and the
/// example runs: a JSON Lines file of reviews through the README's loader and collator.
/// </summary>
public sealed partial class ReadmeTests : IDisposable
{
    private readonly TempFiles _files = new();

    [Fact]
    public void Readme_CSharpBlocks_LoaderAppearsInThisFileVerbatim()
    {
        var readme = File.ReadAllText(Path.Combine(SourceDirectory(), "..", "..", "src", "StreamingLoader.Text", "README.md"));
        var self = Normalize(File.ReadAllText(Path.Combine(SourceDirectory(), "ReadmeTests.cs")));
        var blocks = CSharpBlock().Matches(readme).Select(m => m.Groups[1].Value).ToList();

        Assert.Equal(2, blocks.Count);
        Assert.All(blocks, block => Assert.Contains(Normalize(Loader(block)), self, StringComparison.Ordinal));
    }

    /// <summary>
    /// A block without what makes it a program of its own for the docs test (tests/StreamingLoader.Docs.Tests compiles
    /// each block alone): its using directives, the <c>path</c> from the arguments, the <c>Train</c> stand-in after the
    /// loop and a line printing what was built. The rest is the loader as this file runs it.
    /// </summary>
    private static string Loader(string block)
    {
        var lines = block.Split('\n');
        var end = Array.FindIndex(lines, l => l.StartsWith("// Your training step", StringComparison.Ordinal));
        return string.Join('\n', lines.Take(end < 0 ? lines.Length : end).Where(l =>
            !l.StartsWith("using ", StringComparison.Ordinal) && !l.StartsWith("var path = ", StringComparison.Ordinal) && !l.StartsWith("Console.WriteLine(", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Readme_Example_RunsAndDeadLettersTheBadReview()
    {
        var path = _files.Write("reviews.jsonl", "{\"text\": \"A film to see twice.\", \"stars\": 5}\n{\"text\": 3, \"stars\": 1}\n{\"text\": \"Dull.\", \"stars\": 1}\n");
        var rows = new List<(long[] Ids, long[] Mask, long Stars)>();
        void Train(BatchTensor ids, BatchTensor mask, BatchTensor labels) =>
            rows.AddRange(Enumerable.Range(0, ids.Shape[0]).Select(i => (ids.Sample<long>(i).ToArray(), mask.Sample<long>(i).ToArray(), labels.AsSpan<long>()[i])));

        var gpt2 = TextTokenizer.Gpt2();
        var collator = Collate.Fields<TokenizedText>()
            .Sequence("input_ids", t => t.Ids, new SequencePadding { MaxLength = 512, Truncation = Truncation.Right },
                padValue: gpt2.EndOfTextId, maskName: "attention_mask", elementType: ElementType.Int64)
            .Scalar("labels", t => t.Label ?? -1);
        await using var loader = Pipeline.From(JsonLines.Read(path))
            .Transform(Tokenize.JsonField(gpt2, textField: "text", labelField: "stars"))
            .Build(collator, new LoaderOptions { BatchSize = 64, Workers = 2, ErrorPolicy = ErrorPolicy.Skip });
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                Train(batch["input_ids"], batch["attention_mask"], batch["labels"]); // Int64 [64, L], L the batch's longest; Int64 [64]
            }
        }

        using var first = gpt2.Encode("A film to see twice.");
        using var second = gpt2.Encode("Dull.");
        Assert.Equal([5L, 1], rows.Select(r => r.Stars));
        Assert.Equal(first.Length, rows[0].Ids.Length);
        Assert.Equal(first.Ids.ToArray().Select(id => (long)id), rows[0].Ids);
        Assert.Equal([.. second.Ids.ToArray().Select(id => (long)id), .. Enumerable.Repeat(50256L, first.Length - second.Length)], rows[1].Ids);
        Assert.Equal([.. Enumerable.Repeat(1L, second.Length), .. Enumerable.Repeat(0L, first.Length - second.Length)], rows[1].Mask);
        Assert.Equal("A film to see twice.", gpt2.Decode([.. rows[0].Ids.Select(id => (int)id)]));
        Assert.Contains($"{path}:2: the \"text\" field is a number, not a string.", Assert.Single(loader.DeadLetters).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readme_Bucketing_OptionsAsWritten_PaddingUnderHalfOfUnbucketed()
    {
        // Whole fortunes, a few to several hundred tokens each.
        var fortunes = FortunesCorpus.Files().SelectMany(f => FortunesCorpus.Fortunes(f.Bytes)).Take(4000);
        var path = _files.Write("fortunes.jsonl", string.Concat(fortunes.Select(f => System.Text.Json.JsonSerializer.Serialize(new { text = System.Text.Encoding.UTF8.GetString(f) }) + "\n")));
        async Task<double> PaddingFraction(LengthBucketing? bucketing)
        {
            var options = new LoaderOptions
            {
                BatchSize = 64, Workers = 2, ShuffleBufferSize = 10_000,
                Bucketing = new LengthBucketing { Boundaries = [.. Enumerable.Range(1, 32).Select(i => 16 * i)] },
            };
            options.Bucketing = bucketing;
            await using var loader = Pipeline.From(JsonLines.Read(path))
                .Transform(Tokenize.JsonField(TextTokenizer.Gpt2(), "text"))
                .Build(Collate.Fields<TokenizedText>().Sequence("input_ids", t => t.Ids, maskName: "attention_mask", elementType: ElementType.Int64), options);
            long data = 0, padded = 0;
            await foreach (var batch in loader.ReadEpochAsync())
            {
                using (batch)
                {
                    data += batch["attention_mask"].AsSpan<long>().ToArray().Sum();
                    padded += batch["input_ids"].ElementCount;
                }
            }

            return (padded - data) / (double)padded;
        }

        var unbucketed = await PaddingFraction(null);
        var bucketed = await PaddingFraction(new LengthBucketing { Boundaries = [.. Enumerable.Range(1, 32).Select(i => 16 * i)] });
        Assert.True(bucketed < unbucketed / 2, $"padding {bucketed:P1} bucketed, {unbucketed:P1} not");
    }

    public void Dispose() => _files.Dispose();

    private static string Normalize(string code) => string.Join('\n', code.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;

    [GeneratedRegex("```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();
}
