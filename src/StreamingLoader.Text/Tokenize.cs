using System.Buffers;
using StreamingLoader.Text.Internal;
using StreamingLoader.Sources;

namespace StreamingLoader.Text;

/// <summary>
/// Tokenization as pipeline transforms (<see cref="PipelineBuilder{T}.Transform{TOut}"/>): JSON Lines with a text
/// field, plain text with one document per line, and one document per file. Each gives a
/// <see cref="TokenizedText"/> whose ids are in a pooled buffer; the loader disposes it once collated (or dropped).
/// </summary>
/// <remarks>
/// Bad input fails the sample with an <see cref="InvalidDataException"/> whose message starts with the file and line
/// (<c>data.jsonl:42: the object has no "text" field.</c>): a missing field, a field of the wrong type, a line that is
/// not JSON, invalid UTF-8 (under <see cref="InvalidUtf8.Reject"/>), an empty document. The loader stops with it, or
/// under <see cref="ErrorPolicy.Skip"/> records a dead letter and goes on.
/// </remarks>
/// <example>
/// <code>
/// var gpt2 = TextTokenizer.Gpt2();
/// var builder = Pipeline.From(JsonLines.Read("reviews.jsonl"))
///     .Transform(Tokenize.JsonField(gpt2, textField: "text", labelField: "stars"));
/// </code>
/// </example>
public static class Tokenize
{
    /// <summary>The largest file <see cref="File"/> reads: 256 MiB.</summary>
    public const int MaxFileBytes = 256 << 20;

    /// <summary>
    /// Tokenizes the string field <paramref name="textField"/> of each line's JSON object, with the integer field
    /// <paramref name="labelField"/> as its label when given. For a tailed file or a message broker, make a
    /// <see cref="TextLine"/> of the line's or message's bytes: <c>new TextLine(path, lineNumber, utf8)</c>.
    /// </summary>
    /// <param name="tokenizer">The tokenizer.</param>
    /// <param name="textField">The key of the text, a JSON string; JSON escapes are decoded, <c>\uD83D\uDE00</c> pairs included.</param>
    /// <param name="labelField">The key of an integer label, required in every line when given; <see langword="null"/> for none.</param>
    public static Func<TextLine, SampleContext, TokenizedText> JsonField(TextTokenizer tokenizer, string textField, string? labelField = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentException.ThrowIfNullOrEmpty(textField);
        if (labelField is not null)
        {
            ArgumentException.ThrowIfNullOrEmpty(labelField);
        }

        var field = new JsonTextField(tokenizer, textField, labelField);
        return (line, _) =>
        {
            CheckLength(line);
            return field.Tokenize(line.Utf8.Span, line.Path, line.LineNumber);
        };
    }

    /// <summary>
    /// Tokenizes each line as a document of plain UTF-8 text (read with <see cref="JsonLines.Read"/>, which splits any
    /// UTF-8 file into lines, skips empty ones and strips a byte-order mark).
    /// </summary>
    /// <param name="tokenizer">The tokenizer.</param>
    public static Func<TextLine, SampleContext, TokenizedText> Line(TextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return (line, _) =>
        {
            CheckLength(line);
            if (line.Utf8.IsEmpty)
            {
                throw new InvalidDataException($"{TextTokenizer.Where(line.Path, line.LineNumber)}the line is empty: an empty document has no tokens.");
            }

            return tokenizer.Encode(line.Utf8.Span, null, line.Path, line.LineNumber);
        };
    }

    /// <summary>
    /// Reads each file as one document of UTF-8 text (a byte-order mark is skipped) and tokenizes it, with the file's
    /// label. A missing file fails with a <see cref="FileNotFoundException"/>; an empty file or one over
    /// <see cref="MaxFileBytes"/> with an <see cref="InvalidDataException"/> naming it.
    /// </summary>
    /// <param name="tokenizer">The tokenizer.</param>
    public static Func<TextFile, SampleContext, TokenizedText> File(TextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        return (file, _) => ReadFile(tokenizer, file);
    }

    private static TokenizedText ReadFile(TextTokenizer tokenizer, TextFile file)
    {
        ArgumentException.ThrowIfNullOrEmpty(file.Path, nameof(file));
        using var handle = System.IO.File.OpenHandle(file.Path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        var length = RandomAccess.GetLength(handle);
        if (length > MaxFileBytes)
        {
            throw new InvalidDataException($"{file.Path}: the file has {length} bytes, more than the {MaxFileBytes} one document may have.");
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Max(length, 1));
        try
        {
            var read = 0;
            while (read < length && RandomAccess.Read(handle, buffer.AsSpan(read, (int)length - read), read) is > 0 and var n)
            {
                read += n;
            }

            ReadOnlySpan<byte> text = buffer.AsSpan(0, read);
            if (text.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
            {
                text = text[3..];
            }

            if (text.IsEmpty)
            {
                throw new InvalidDataException($"{file.Path}: the file is empty: an empty document has no tokens.");
            }

            return tokenizer.Encode(text, file.Label, file.Path, 0);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void CheckLength(in TextLine line)
    {
        if (line.ExceedsMaxLength)
        {
            throw new InvalidDataException($"{TextTokenizer.Where(line.Path, line.LineNumber)}the line is longer than the reader's maximum; its bytes were skipped (JsonLines.Read's maxLineLength raises the limit).");
        }
    }
}
