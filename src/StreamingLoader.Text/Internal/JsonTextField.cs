using System.Buffers;
using System.Text;
using System.Text.Json;

namespace StreamingLoader.Text.Internal;

/// <summary>
/// Tokenizes the string field of a JSON object given as UTF-8 (a JSON Lines line, a message body), with an optional
/// integer label field. The whole line is checked as JSON; other fields are skipped; a key given twice takes its last
/// value, as <c>JSON.parse</c> does. Every error names the file and line.
/// </summary>
internal sealed class JsonTextField
{
    private readonly TextTokenizer _tokenizer;
    private readonly string _textField;
    private readonly string? _labelField;
    private readonly byte[] _textKey;
    private readonly byte[]? _labelKey;

    public JsonTextField(TextTokenizer tokenizer, string textField, string? labelField)
    {
        _tokenizer = tokenizer;
        _textField = textField;
        _labelField = labelField;
        _textKey = Encoding.UTF8.GetBytes(textField);
        _labelKey = labelField is null ? null : Encoding.UTF8.GetBytes(labelField);
    }

    public TokenizedText Tokenize(ReadOnlySpan<byte> json, string path, long lineNumber)
    {
        int textStart = -1, textLength = 0;
        var escaped = false;
        long? label = null;
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw Error(path, lineNumber, $"the line is not a JSON object (it starts with {Describe(reader.TokenType)})");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals(_textKey))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw Error(path, lineNumber, $"the \"{_textField}\" field is {Describe(reader.TokenType)}, not a string");
                    }

                    // The raw string: the reader has checked its escapes; its bytes are checked as UTF-8 below.
                    textStart = (int)reader.TokenStartIndex + 1;
                    textLength = reader.ValueSpan.Length;
                    escaped = reader.ValueIsEscaped;
                }
                else if (_labelKey is not null && reader.ValueTextEquals(_labelKey))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var value))
                    {
                        var what = reader.TokenType == JsonTokenType.Number ? $"{Encoding.UTF8.GetString(reader.ValueSpan)}, not a 64-bit integer" : $"{Describe(reader.TokenType)}, not an integer";
                        throw Error(path, lineNumber, $"the \"{_labelField}\" field is {what}");
                    }

                    label = value;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            // The object's end, then nothing but whitespace (the reader throws on anything else).
            while (reader.Read())
            {
            }
        }
        catch (JsonException ex)
        {
            throw Error(path, lineNumber, $"the line is not valid JSON: {ex.Message}", ex);
        }

        if (textStart < 0)
        {
            throw Error(path, lineNumber, $"the object has no \"{_textField}\" field");
        }

        if (_labelKey is not null && label is null)
        {
            throw Error(path, lineNumber, $"the object has no \"{_labelField}\" field");
        }

        if (textLength == 0)
        {
            throw Error(path, lineNumber, $"the \"{_textField}\" field is an empty string: an empty document has no tokens");
        }

        var raw = json.Slice(textStart, textLength);
        return escaped ? TokenizeEscaped(raw, textStart, label, path, lineNumber) : Tokenize(raw, textStart, label, path, lineNumber);
    }

    private TokenizedText Tokenize(ReadOnlySpan<byte> raw, int offset, long? label, string path, long lineNumber)
    {
        var invalid = Utf8Text.FirstInvalid(raw);
        if (invalid < 0)
        {
            return _tokenizer.EncodeValid(raw, label, path, lineNumber);
        }

        if (_tokenizer.InvalidUtf8 == InvalidUtf8.Reject)
        {
            throw InvalidText(path, lineNumber, $"invalid UTF-8 at byte {offset + invalid} of the line (0x{raw[invalid]:X2})");
        }

        return _tokenizer.Encode(raw, label, path, lineNumber);
    }

    private TokenizedText TokenizeEscaped(ReadOnlySpan<byte> raw, int offset, long? label, string path, long lineNumber)
    {
        var scratch = ArrayPool<byte>.Shared.Rent(raw.Length * 3);
        try
        {
            var length = Utf8Text.UnescapeJson(raw, scratch, _tokenizer.InvalidUtf8 == InvalidUtf8.Replace, out var invalid);
            if (length < 0)
            {
                throw InvalidText(
                    path,
                    lineNumber,
                    raw[invalid] == (byte)'\\' ? $"a lone surrogate escape ({Encoding.ASCII.GetString(raw.Slice(invalid, 6))}) at byte {offset + invalid} of the line" : $"invalid UTF-8 at byte {offset + invalid} of the line (0x{raw[invalid]:X2})");
            }

            if (length == 0)
            {
                throw Error(path, lineNumber, $"the \"{_textField}\" field is an empty string: an empty document has no tokens");
            }

            return _tokenizer.EncodeValid(scratch.AsSpan(0, length), label, path, lineNumber);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private InvalidDataException InvalidText(string path, long lineNumber, string what) =>
        Error(path, lineNumber, $"the \"{_textField}\" field has {what}; TextTokenizer.Gpt2(InvalidUtf8.Replace) replaces it with U+FFFD");

    private static InvalidDataException Error(string path, long lineNumber, string message, Exception? inner = null) =>
        new($"{TextTokenizer.Where(path, lineNumber)}{message}.", inner);

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        JsonTokenType.Null => "null",
        _ => "nothing",
    };
}
