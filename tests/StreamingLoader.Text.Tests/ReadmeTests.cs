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
    public void Readme_CSharpBlocks_AppearInThisFileVerbatim()
    {
        var readme = File.ReadAllText(Path.Combine(SourceDirectory(), "..", "..", "src", "StreamingLoader.Text", "README.md"));
        var self = Normalize(File.ReadAllText(Path.Combine(SourceDirectory(), "ReadmeTests.cs")));
        var blocks = CSharpBlock().Matches(readme).Select(m => m.Groups[1].Value).ToList();

        Assert.Equal(2, blocks.Count);
        Assert.All(blocks, block => Assert.Contains(Normalize(block), self, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Readme_Example_RunsAndDeadLettersTheBadReview()
    {
        var path = _files.Write("reviews.jsonl", "{\"text\": \"A film to see twice.\", \"stars\": 5}\n{\"text\": 3, \"stars\": 1}\n{\"text\": \"Dull.\", \"stars\": 1}\n");
        var rows = new List<(long[] Ids, long Stars)>();
        void Train(BatchTensor features, BatchTensor labels) =>
            rows.AddRange(Enumerable.Range(0, features.Shape[0]).Select(i => (features.Sample<long>(i).ToArray(), labels.Sample<long>(i)[0])));

        var gpt2 = TextTokenizer.Gpt2();
        await using var loader = Pipeline.From(JsonLines.Read(path))
            .Transform(Tokenize.JsonField(gpt2, textField: "text", labelField: "stars"))
            .Build(new PadTo(128), new LoaderOptions { BatchSize = 64, Workers = 2, ErrorPolicy = ErrorPolicy.Skip });
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                Train(batch.Features, batch.Labels); // Int64 [64, 128] token ids, Int64 [64] stars
            }
        }

        using var first = gpt2.Encode("A film to see twice.");
        Assert.Equal([5L, 1], rows.Select(r => r.Stars));
        Assert.Equal([.. first.Ids.ToArray().Select(id => (long)id), .. Enumerable.Repeat(50256L, 128 - first.Length)], rows[0].Ids);
        Assert.Equal("A film to see twice.", gpt2.Decode([.. rows[0].Ids.Take(first.Length).Select(id => (int)id)]));
        Assert.Contains($"{path}:2: the \"text\" field is a number, not a string.", Assert.Single(loader.DeadLetters).Reason, StringComparison.Ordinal);
    }

    public void Dispose() => _files.Dispose();

    private static string Normalize(string code) => string.Join('\n', code.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0));

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;

    [GeneratedRegex("```csharp\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CSharpBlock();
}

/// <summary>Copies each document's ids into its row as Int64, padded with end-of-text or cut, then frees them.</summary>
sealed class PadTo(int length) : Collator<TokenizedText>
{
    public override BatchLayout GetLayout(TokenizedText first) => new(ElementType.Int64, [length], ElementType.Int64, []);

    public override void Write(in TokenizedText sample, int slot, Batch batch)
    {
        using var text = sample; // disposing returns the ids' pooled buffer
        var ids = text.Ids;
        var row = batch.Features.Sample<long>(slot);
        var n = Math.Min(ids.Length, length);
        for (var i = 0; i < n; i++)
        {
            row[i] = ids[i];
        }

        row[n..].Fill(50256);
        batch.Labels.Sample<long>(slot)[0] = text.Label ?? -1;
    }
}
