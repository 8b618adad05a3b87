namespace StreamingLoader.Text.Internal;

/// <summary>
/// A pooled array of token ids with a generation that changes each time it is rented or returned, so a
/// <see cref="TokenizedText"/> that was copied and disposed twice returns its buffer once, and one read after its
/// disposal fails instead of reading another sample's ids.
/// </summary>
internal sealed class TokenBuffer
{
    private int _generation;

    private TokenBuffer(int length) => Ids = new int[length];

    /// <summary>Gets the ids; its length is a power of two from <see cref="TokenBufferPool.MinLength"/>.</summary>
    public int[] Ids { get; }

    /// <summary>Gets the current generation: the one a holder was given, while it holds the buffer.</summary>
    public int Generation => Volatile.Read(ref _generation);

    internal static TokenBuffer Create(int length) => new(length);

    /// <summary>Marks the buffer rented; returns the generation its holder keeps.</summary>
    internal int Rent() => Interlocked.Increment(ref _generation);

    /// <summary>Ends the lease of the holder of <paramref name="generation"/>; false when it had already ended.</summary>
    internal bool TryRelease(int generation) => Interlocked.CompareExchange(ref _generation, generation + 1, generation) == generation;
}
