using System.Numerics;

namespace StreamingLoader.Text.Internal;

/// <summary>
/// Token buffers by power-of-two size, so a sample holds about what its ids need whatever the longest document seen.
/// A size's free list keeps at most <see cref="MaxPerSize"/> buffers, and never more than were in use at once.
/// </summary>
internal static class TokenBufferPool
{
    /// <summary>The smallest buffer, in ids.</summary>
    public const int MinLength = 64;

    /// <summary>The largest buffer that is pooled (16 MiB of ids); a larger one is allocated and dropped.</summary>
    public const int MaxPooledLength = 1 << 22;

    /// <summary>The most free buffers kept per size.</summary>
    public const int MaxPerSize = 4096;

    private static readonly Stack<TokenBuffer>[] s_free = CreateFreeLists();

    /// <summary>Rents a buffer of at least <paramref name="length"/> ids; returns it with its holder's generation.</summary>
    public static TokenBuffer Rent(int length, out int generation)
    {
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(length, MinLength));
        TokenBuffer? buffer = null;
        if (size <= MaxPooledLength)
        {
            var free = s_free[SizeIndex(size)];
            lock (free)
            {
                free.TryPop(out buffer);
            }
        }

        buffer ??= TokenBuffer.Create(size);
        generation = buffer.Rent();
        return buffer;
    }

    /// <summary>Returns the buffer rented as <paramref name="generation"/>; a second return is ignored.</summary>
    public static void Return(TokenBuffer buffer, int generation)
    {
        if (!buffer.TryRelease(generation) || buffer.Ids.Length > MaxPooledLength)
        {
            return;
        }

        var free = s_free[SizeIndex(buffer.Ids.Length)];
        lock (free)
        {
            if (free.Count < MaxPerSize)
            {
                free.Push(buffer);
            }
        }
    }

    /// <summary>A buffer twice as large holding the first <paramref name="used"/> ids of <paramref name="buffer"/>, which is returned.</summary>
    public static TokenBuffer Grow(TokenBuffer buffer, ref int generation, int used, int needed)
    {
        var larger = Rent(Math.Max(needed, buffer.Ids.Length * 2), out var largerGeneration);
        buffer.Ids.AsSpan(0, used).CopyTo(larger.Ids);
        Return(buffer, generation);
        generation = largerGeneration;
        return larger;
    }

    private static int SizeIndex(int size) => BitOperations.Log2((uint)size) - BitOperations.Log2(MinLength);

    private static Stack<TokenBuffer>[] CreateFreeLists()
    {
        var lists = new Stack<TokenBuffer>[SizeIndex(MaxPooledLength) + 1];
        for (var i = 0; i < lists.Length; i++)
        {
            lists[i] = new Stack<TokenBuffer>();
        }

        return lists;
    }
}
