namespace StreamingLoader.Shards.Internal;

/// <summary>
/// The units of a sharded dataset in their canonical order (shard by shard, then unit by unit) and where each one's
/// samples start in the dataset's index space.
/// </summary>
internal sealed class UnitTable
{
    private const int BlockShift = 10;
    private readonly int[] _rows;
    private readonly int[] _starts;
    private readonly int[] _blockUnits;

    public UnitTable(IReadOnlyList<int> rowsPerUnit)
    {
        ArgumentNullException.ThrowIfNull(rowsPerUnit);
        _rows = new int[rowsPerUnit.Count];
        _starts = new int[rowsPerUnit.Count + 1];
        long total = 0;
        for (var u = 0; u < _rows.Length; u++)
        {
            if (rowsPerUnit[u] < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(rowsPerUnit), $"Unit {u} has {rowsPerUnit[u]} rows.");
            }

            _rows[u] = rowsPerUnit[u];
            _starts[u] = (int)total;
            total += rowsPerUnit[u];
            if (total > int.MaxValue)
            {
                throw new ArgumentException($"The units hold more than {int.MaxValue} samples together; split the dataset.", nameof(rowsPerUnit));
            }
        }

        _starts[^1] = (int)total;

        // The unit that holds the first sample of each block of 1,024: a lookup then at most a few steps forward,
        // instead of a binary search per sample (a gather and an epoch's plan look up every sample).
        _blockUnits = new int[(int)(total >> BlockShift) + 1];
        for (var b = 0; b < _blockUnits.Length; b++)
        {
            _blockUnits[b] = Search(b << BlockShift);
        }
    }

    public int Count => _rows.Length;

    public int Samples => _starts[^1];

    public int Rows(int unit) => _rows[unit];

    public int FirstSample(int unit) => _starts[unit];

    /// <summary>The unit that holds sample <paramref name="index"/>.</summary>
    public int UnitOf(int index)
    {
        var unit = _blockUnits[index >> BlockShift];
        var starts = _starts;
        while (unit + 1 < _rows.Length && starts[unit + 1] <= index)
        {
            unit++;
        }

        return unit;
    }

    private int Search(int index)
    {
        if (_rows.Length == 0)
        {
            return 0;
        }

        var found = Array.BinarySearch(_starts, 0, _rows.Length, index);
        if (found < 0)
        {
            return ~found - 1;
        }

        // Several units may start here when some are empty: the sample is in the last of them.
        while (found + 1 < _rows.Length && _starts[found + 1] == index)
        {
            found++;
        }

        return found;
    }
}
