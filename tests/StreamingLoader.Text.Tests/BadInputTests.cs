using System.Text;
using StreamingLoader.Sources;

namespace StreamingLoader.Text.Tests;

/// <summary>
/// Each kind of bad input fails its sample with an <see cref="InvalidDataException"/> whose message starts with the
/// file and line and says what is wrong; the good neighbours of a bad line are unaffected.
/// </summary>
public sealed class BadInputTests : IDisposable
{
    private readonly TempFiles _files = new();

    private static TokenizedText JsonField(string json, string? labelField = null, InvalidUtf8 invalid = InvalidUtf8.Reject) =>
        JsonField(Encoding.UTF8.GetBytes(json), labelField, invalid);

    private static TokenizedText JsonField(byte[] json, string? labelField = null, InvalidUtf8 invalid = InvalidUtf8.Reject) =>
        Tokenize.JsonField(TextTokenizer.Gpt2(invalid), "text", labelField)(new TextLine("data.jsonl", 7, json), default);

    [Theory]
    [InlineData("{\"title\":\"Hello\"}", "the object has no \"text\" field")]
    [InlineData("{}", "the object has no \"text\" field")]
    [InlineData("{\"text\":5}", "the \"text\" field is a number, not a string")]
    [InlineData("{\"text\":null}", "the \"text\" field is null, not a string")]
    [InlineData("{\"text\":[\"a\"]}", "the \"text\" field is an array, not a string")]
    [InlineData("{\"text\":{\"a\":1}}", "the \"text\" field is an object, not a string")]
    [InlineData("{\"text\":true}", "the \"text\" field is true, not a string")]
    [InlineData("{\"text\":\"\"}", "the \"text\" field is an empty string: an empty document has no tokens")]
    [InlineData("{\"text\":\"a\\uD800b\"}", "a lone surrogate escape (\\uD800) at byte 10 of the line")]
    [InlineData("{\"text\":\"a\\uDC00\\uD800\"}", "a lone surrogate escape (\\uDC00) at byte 10 of the line")]
    [InlineData("[1,2]", "the line is not a JSON object (it starts with an array)")]
    [InlineData("\"text\"", "the line is not a JSON object (it starts with a string)")]
    [InlineData("{\"text\":\"a\"", "the line is not valid JSON")]
    [InlineData("{\"text\":\"a\"} x", "the line is not valid JSON")]
    [InlineData("{\"text\":\"a\"}{}", "the line is not valid JSON")]
    [InlineData("{\"text\":\"a\\q\"}", "the line is not valid JSON")]
    [InlineData("{\"text\":\"tab\there\"}", "the line is not valid JSON")]
    public void JsonField_BadLine_ErrorNamesFileLineAndProblem(string json, string problem)
    {
        var error = Assert.Throws<InvalidDataException>(() => JsonField(json));

        Assert.StartsWith("data.jsonl:7: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"text\":\"a\"}", "the object has no \"label\" field")]
    [InlineData("{\"text\":\"a\",\"label\":\"3\"}", "the \"label\" field is a string, not an integer")]
    [InlineData("{\"text\":\"a\",\"label\":1.5}", "the \"label\" field is 1.5, not a 64-bit integer")]
    [InlineData("{\"text\":\"a\",\"label\":1e30}", "the \"label\" field is 1e30, not a 64-bit integer")]
    [InlineData("{\"text\":\"a\",\"label\":null}", "the \"label\" field is null, not an integer")]
    public void JsonField_BadLabel_ErrorNamesFileLineAndProblem(string json, string problem)
    {
        var error = Assert.Throws<InvalidDataException>(() => JsonField(json, "label"));

        Assert.StartsWith("data.jsonl:7: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void JsonField_InvalidUtf8InTheText_ErrorGivesTheByteOffsetInTheLine()
    {
        byte[] line = [.. "{\"text\":\"ab"u8, 0xC3, 0x28, .. "\"}"u8];

        var error = Assert.Throws<InvalidDataException>(() => JsonField(line));

        Assert.Equal("data.jsonl:7: the \"text\" field has invalid UTF-8 at byte 11 of the line (0xC3); TextTokenizer.Gpt2(InvalidUtf8.Replace) replaces it with U+FFFD.", error.Message);
    }

    [Fact]
    public void JsonField_InvalidUtf8InAnEscapedText_ErrorGivesTheByteOffsetInTheLine()
    {
        byte[] line = [.. "{\"text\":\"a\\nb"u8, 0xFF, .. "\"}"u8];

        var error = Assert.Throws<InvalidDataException>(() => JsonField(line));

        Assert.Contains("invalid UTF-8 at byte 13 of the line (0xFF)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void JsonField_InvalidUtf8UnderReplace_TokenizesTheReplacementCharacter()
    {
        using var replaced = JsonField([.. "{\"text\":\"a"u8, 0xFF, .. "b\"}"u8], invalid: InvalidUtf8.Replace);
        using var expected = TextTokenizer.Gpt2().Encode("a\uFFFDb");

        Assert.Equal(expected.Ids.ToArray(), replaced.Ids.ToArray());
    }

    [Fact]
    public void JsonField_EscapedKeyDuplicateKeyAndOtherFields_LastTextWinsAsInJsonParse()
    {
        using var text = JsonField("{\"t\\u0065xt\":\"first\",\"n\":[1,{\"text\":\"nested\"}],\"text\":\"Hello world\",\"label\":-3}", "label");

        Assert.Equal([15496, 995], text.Ids.ToArray());
        Assert.Equal(-3L, text.Label);
        Assert.Equal("data.jsonl", text.Path);
        Assert.Equal(7, text.LineNumber);
    }

    [Fact]
    public void Line_InvalidUtf8_ErrorNamesFileLineAndOffset()
    {
        var tokenize = Tokenize.Line(TextTokenizer.Gpt2());

        var error = Assert.Throws<InvalidDataException>(() => tokenize(new TextLine("corpus.txt", 3, new byte[] { 0x61, 0x62, 0xE2, 0x82 }), default));

        Assert.Equal("corpus.txt:3: invalid UTF-8 at byte 2 (0xE2); TextTokenizer.Gpt2(InvalidUtf8.Replace) replaces it with U+FFFD.", error.Message);
    }

    [Fact]
    public void Line_EmptyLine_ErrorNamesFileAndLine()
    {
        var tokenize = Tokenize.Line(TextTokenizer.Gpt2());

        var error = Assert.Throws<InvalidDataException>(() => tokenize(new TextLine("corpus.txt", 4, ReadOnlyMemory<byte>.Empty), default));

        Assert.Equal("corpus.txt:4: the line is empty: an empty document has no tokens.", error.Message);
    }

    [Fact]
    public void File_EmptyFileOrOnlyAByteOrderMark_ErrorNamesTheFile()
    {
        var tokenize = Tokenize.File(TextTokenizer.Gpt2());
        var empty = _files.Write("empty.txt", ""u8);
        var bom = _files.Write("bom.txt", [0xEF, 0xBB, 0xBF]);

        Assert.Equal($"{empty}: the file is empty: an empty document has no tokens.", Assert.Throws<InvalidDataException>(() => tokenize(new TextFile(empty), default)).Message);
        Assert.Equal($"{bom}: the file is empty: an empty document has no tokens.", Assert.Throws<InvalidDataException>(() => tokenize(new TextFile(bom), default)).Message);
    }

    [Fact]
    public void File_InvalidUtf8_ErrorNamesTheFileAndOffset()
    {
        var path = _files.Write("bad.txt", [.. "Hello"u8, 0x80]);

        var error = Assert.Throws<InvalidDataException>(() => Tokenize.File(TextTokenizer.Gpt2())(new TextFile(path), default));

        Assert.Equal($"{path}: invalid UTF-8 at byte 5 (0x80); TextTokenizer.Gpt2(InvalidUtf8.Replace) replaces it with U+FFFD.", error.Message);
    }

    [Fact]
    public void File_Missing_FileNotFoundNamesIt()
    {
        var path = Path.Combine(_files.Root, "missing.txt");

        var error = Assert.Throws<FileNotFoundException>(() => Tokenize.File(TextTokenizer.Gpt2())(new TextFile(path), default));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void File_ByteOrderMarkAndLabel_SkippedAndKept()
    {
        var path = _files.Write("doc.txt", [0xEF, 0xBB, 0xBF, .. "Hello world"u8]);

        using var text = Tokenize.File(TextTokenizer.Gpt2())(new TextFile(path, 4), default);

        Assert.Equal([15496, 995], text.Ids.ToArray());
        Assert.Equal(4L, text.Label);
        Assert.Equal(0, text.LineNumber);
        Assert.Equal($"{path}: 2 tokens, label 4", text.ToString());
    }

    [Fact]
    public void Encode_LoneSurrogateInAString_RejectedOrReplaced()
    {
        var error = Assert.Throws<InvalidDataException>(() => TextTokenizer.Gpt2().Encode("ab\uD800c"));
        using var replaced = TextTokenizer.Gpt2(InvalidUtf8.Replace).Encode("ab\uD800c");
        using var expected = TextTokenizer.Gpt2().Encode("ab\uFFFDc");

        Assert.Equal("The text has a lone surrogate (U+D800) at character 2.", error.Message);
        Assert.Equal(expected.Ids.ToArray(), replaced.Ids.ToArray());
    }

    [Fact]
    public void Factories_BadArguments_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TextTokenizer.Gpt2((InvalidUtf8)9));
        Assert.Throws<ArgumentException>(() => Tokenize.JsonField(TextTokenizer.Gpt2(), ""));
        Assert.Throws<ArgumentException>(() => Tokenize.JsonField(TextTokenizer.Gpt2(), "text", ""));
        Assert.Throws<ArgumentNullException>(() => Tokenize.Line(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => TextTokenizer.Gpt2().Decode([50257]));
        Assert.Throws<ArgumentOutOfRangeException>(() => TextTokenizer.Gpt2().Decode([-1]));
    }

    public void Dispose() => _files.Dispose();
}
