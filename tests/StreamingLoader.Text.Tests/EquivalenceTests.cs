using System.Text;
using Xunit.Abstractions;
using StreamingLoader.Sources;

namespace StreamingLoader.Text.Tests;

/// <summary>
/// Every document's ids against npm tiktoken's GPT-2 ids for the same bytes (<see cref="TiktokenReference"/>): the
/// fortunes corpus line by line and fortune by fortune, generated hard cases by class, every Unicode scalar value, and
/// invalid UTF-8 (replaced with U+FFFD, as JavaScript decodes it).
/// </summary>
public class EquivalenceTests(ITestOutputHelper output)
{
    [Fact]
    public void Encode_EveryFortuneLine_MatchesTiktoken()
    {
        var lines = FortunesCorpus.Files().SelectMany(f => FortunesCorpus.Lines(f.Bytes)).ToList();
        Assert.True(lines.Count > 60_000, $"only {lines.Count} lines in the fortunes corpus");
        AssertSameIds("fortune lines", lines, TextTokenizer.Gpt2());
    }

    [Fact]
    public void Encode_EveryWholeFortune_MatchesTiktoken()
    {
        var fortunes = FortunesCorpus.Files().SelectMany(f => FortunesCorpus.Fortunes(f.Bytes)).ToList();
        Assert.True(fortunes.Count > 15_000, $"only {fortunes.Count} fortunes in the corpus");
        AssertSameIds("whole fortunes", fortunes, TextTokenizer.Gpt2());
    }

    [Fact]
    public void Encode_HardCases_MatchTiktoken()
    {
        var cases = HardCases.Documents();
        foreach (var group in cases.GroupBy(c => c.Class))
        {
            output.WriteLine($"{group.Key}: {group.Count()} documents");
        }

        AssertSameIds("hard cases", [.. cases.Select(c => c.Text)], TextTokenizer.Gpt2());
    }

    [Fact]
    public void Encode_EveryUnicodeScalarInContext_MatchesTiktoken()
    {
        AssertSameIds("every scalar value", HardCases.EveryScalar(), TextTokenizer.Gpt2());
    }

    [Fact]
    public void Encode_InvalidUtf8UnderReplace_MatchesTiktokenOnTheDecodedText()
    {
        var documents = HardCases.InvalidUtf8();
        Assert.True(documents.Count(d => !System.Text.Unicode.Utf8.IsValid(d)) > documents.Count * 9 / 10);
        AssertSameIds("invalid UTF-8", documents, TextTokenizer.Gpt2(InvalidUtf8.Replace));
    }

    [Fact]
    public void JsonField_HardCasesAsJsonLines_MatchTiktokenAfterJsonParse()
    {
        // Each case three ways: raw UTF-8 in the string, everything outside ASCII escaped (surrogate pairs for astral
        // characters), and with invalid bytes or lone surrogate escapes in it, which JSON.parse and our Replace both
        // turn into U+FFFD.
        var texts = HardCases.Documents().Select(c => Encoding.UTF8.GetString(c.Text)).Where((_, i) => i % 2 == 0).ToList();
        var lines = new List<byte[]>();
        foreach (var text in texts)
        {
            lines.Add(Encoding.UTF8.GetBytes($"{{\"id\":1,\"text\":{System.Text.Json.JsonSerializer.Serialize(text, s_rawJson)},\"tags\":[\"x\",{{\"y\":null}}]}}"));
            lines.Add(Encoding.UTF8.GetBytes($"{{\"text\":{System.Text.Json.JsonSerializer.Serialize(text)}}}"));
        }

        foreach (var bad in HardCases.InvalidUtf8().Take(400))
        {
            lines.Add([.. "{\"text\":\"a\\n"u8, .. bad.Where(b => b != '"' && b != '\\' && b >= 0x20), .. "\\uD800 \\uDFFF\\u00e9\\ud83d\\ude00\"}"u8]);
        }

        var tokenizer = TextTokenizer.Gpt2(InvalidUtf8.Replace);
        var tokenize = Tokenize.JsonField(tokenizer, "text");
        AssertSameIds("JSON Lines", lines, line => tokenize(new TextLine("cases.jsonl", 1, line), default), "json");
    }

    private static readonly System.Text.Json.JsonSerializerOptions s_rawJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private void AssertSameIds(string what, IReadOnlyList<byte[]> documents, TextTokenizer tokenizer) =>
        AssertSameIds(what, documents, d => tokenizer.Encode(d), "text");

    private void AssertSameIds(string what, IReadOnlyList<byte[]> documents, Func<byte[], TokenizedText> encode, string mode)
    {
        var reference = TiktokenReference.Encode(documents, mode);
        var failures = new List<string>();
        long tokens = 0;
        for (var i = 0; i < documents.Count; i++)
        {
            var (expected, error) = reference[i];
            if (expected is null)
            {
                failures.Add($"#{i} {TiktokenReference.Show(documents[i])}: tiktoken failed: {error}");
                continue;
            }

            using var ours = encode(documents[i]);
            tokens += expected.Length;
            if (!ours.Ids.SequenceEqual(expected))
            {
                failures.Add($"#{i} {TiktokenReference.Show(documents[i])}\n  tiktoken: {string.Join(' ', expected)}\n  ours:     {string.Join(' ', ours.Ids.ToArray())}");
            }
        }

        output.WriteLine($"{what}: {documents.Count:N0} documents, {tokens:N0} tiktoken ids, {failures.Count} differing");
        Assert.True(failures.Count == 0, $"{failures.Count} of {documents.Count} documents differ from tiktoken {TiktokenReference.Version}:\n{string.Join('\n', failures.Take(10))}");
    }
}
