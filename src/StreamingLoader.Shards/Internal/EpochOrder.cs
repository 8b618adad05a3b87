namespace StreamingLoader.Shards.Internal;

/// <summary>
/// An epoch's global sample order, a function of (seed, epoch) and the units alone: the units (row groups, record
/// batches, tar shards) shuffled, then the samples within each window of consecutive units shuffled. No rank, worker
/// or world size enters it, which is what lets a run resume at another world size.
/// </summary>
internal static class EpochOrder
{
    private const ulong StreamUnits = 0x5348_4152_4455_4e49; // "SHARDUNI"
    private const ulong StreamWindow = 0x5348_4152_4457_494e; // "SHARDWIN"

    /// <summary>Writes the order of <paramref name="epoch"/> into <paramref name="order"/> (one slot per sample).</summary>
    public static void Fill(UnitTable units, ulong seed, long epoch, bool shuffle, int windowUnits, Span<int> order, Span<int> unitScratch)
    {
        var count = units.Count;
        var unitOrder = unitScratch[..count];
        for (var u = 0; u < count; u++)
        {
            unitOrder[u] = u;
        }

        if (shuffle)
        {
            var random = new CounterRandom(seed, epoch, 0, StreamUnits);
            Shuffle(unitOrder, random);
        }

        var position = 0;
        for (var block = 0; block * windowUnits < count; block++)
        {
            var blockStart = position;
            var end = Math.Min(count, (block + 1) * windowUnits);
            for (var i = block * windowUnits; i < end; i++)
            {
                var unit = unitOrder[i];
                var first = units.FirstSample(unit);
                var rows = units.Rows(unit);
                for (var r = 0; r < rows; r++)
                {
                    order[position++] = first + r;
                }
            }

            if (shuffle)
            {
                var random = new CounterRandom(seed, epoch, block + 1, StreamWindow);
                Shuffle(order[blockStart..position], random);
            }
        }
    }

    /// <summary>Fisher–Yates with the counter-based generator.</summary>
    public static void Shuffle(Span<int> items, CounterRandom random)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = random.NextInt32(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
