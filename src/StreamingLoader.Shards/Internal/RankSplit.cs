namespace StreamingLoader.Shards.Internal;

/// <summary>
/// Deals a sequence of samples to the ranks of a world: rank r reads the r-th contiguous span, so each rank touches
/// about 1/W of the units (and downloads about 1/W of the shards). Spans have equal length: the sequence is padded by
/// repeating its start, or its tail is dropped, as <c>DistributedSampler</c> does.
/// </summary>
internal readonly record struct RankSplit(int Length, int PerRank, int WorldSize, bool DropLast)
{
    public static RankSplit Of(int length, int worldSize, bool dropLast)
    {
        var perRank = dropLast ? length / worldSize : (int)((length + (long)worldSize - 1) / worldSize);
        return new RankSplit(length, perRank, worldSize, dropLast);
    }

    /// <summary>Gets the padding positions (repeated samples) across all ranks.</summary>
    public int Padding => Math.Max(0, (PerRank * WorldSize) - Length);

    /// <summary>Gets the samples at the tail that no rank reads.</summary>
    public int Dropped => Math.Max(0, Length - (PerRank * WorldSize));

    /// <summary>The batches each rank reads: the last one may be short, the same on every rank.</summary>
    public int Batches(int batchSize) => (int)((PerRank + (long)batchSize - 1) / batchSize);

    /// <summary>Where position <paramref name="p"/> of rank <paramref name="rank"/>'s span lies in the sequence (a repeat when padded).</summary>
    public int SourcePosition(int rank, int p)
    {
        var q = ((long)rank * PerRank) + p;
        return (int)(q < Length ? q : (q - Length) % Length);
    }

    /// <summary>Whether position <paramref name="p"/> of rank <paramref name="rank"/> is padding (a repeat).</summary>
    public bool IsPadding(int rank, int p) => ((long)rank * PerRank) + p >= Length;

    /// <summary>
    /// What is left of <paramref name="sequence"/> once every rank has read its first <paramref name="batches"/>
    /// batches: the rest of each rank's span in rank order (padding left out), then any dropped tail.
    /// </summary>
    public int[] Remaining(ReadOnlySpan<int> sequence, int batches, int batchSize)
    {
        var consumed = (int)Math.Min(PerRank, (long)batches * batchSize);
        var rest = new List<int>(Math.Max(0, Length - (consumed * WorldSize)) + Dropped);
        for (var rank = 0; rank < WorldSize; rank++)
        {
            for (var p = consumed; p < PerRank && !IsPadding(rank, p); p++)
            {
                rest.Add(sequence[SourcePosition(rank, p)]);
            }
        }

        for (var q = PerRank * WorldSize; q < Length; q++)
        {
            rest.Add(sequence[q]);
        }

        return [.. rest];
    }
}
