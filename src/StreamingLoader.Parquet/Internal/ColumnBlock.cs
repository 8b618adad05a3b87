namespace StreamingLoader.Parquet.Internal;

/// <summary>
/// One column of a decoded unit (row group, record batch): its values, contiguous and of the column's stored element
/// type, and for a column whose rows vary in length (variable lists, text, binary) the row offsets, counted in
/// elements (bytes for text and binary): row r holds elements [Offsets[r], Offsets[r + 1]). A fixed-length column
/// holds <see cref="ResolvedColumn.PerRow"/> elements a row and no offsets.
/// </summary>
/// <remarks>
/// The memory is either owned (pinned arrays that grow to the largest unit seen and are reused, so decoding allocates
/// nothing at steady state) or a view of memory someone else keeps alive (a memory-mapped Arrow file).
/// </remarks>
internal sealed unsafe class ColumnBlock
{
    private byte[] _values = [];
    private int[] _offsets = [];

    /// <summary>Gets the address of the first value.</summary>
    public byte* Values { get; private set; }

    /// <summary>Gets the address of the row offsets (Rows + 1 of them), or null for a fixed-length column.</summary>
    public int* Offsets { get; private set; }

    /// <summary>Gets the bytes of values that may be read.</summary>
    public long ValueBytes { get; private set; }

    /// <summary>Gets the bytes the owned values array holds.</summary>
    public long ValueCapacity => _values.LongLength;

    /// <summary>Gets the owned bytes (for the allocation tests): the capacity of the pinned arrays.</summary>
    public long CapacityBytes => _values.LongLength + ((long)_offsets.Length * sizeof(int));

    /// <summary>Owned storage for at least <paramref name="bytes"/> bytes of values, kept from earlier units when large enough.</summary>
    public Span<byte> EnsureValues(long bytes)
    {
        if (_values.LongLength < bytes)
        {
            _values = GC.AllocateUninitializedArray<byte>(checked((int)Math.Max(bytes, _values.LongLength * 3 / 2)), pinned: true);
        }

        fixed (byte* values = _values)
        {
            Values = values;
        }

        ValueBytes = bytes;
        return _values.AsSpan(0, (int)bytes);
    }

    /// <summary>Grows the owned values to at least <paramref name="bytes"/>, keeping the first <paramref name="keep"/> bytes.</summary>
    public Span<byte> GrowValues(long bytes, int keep)
    {
        if (_values.LongLength < bytes)
        {
            var grown = GC.AllocateUninitializedArray<byte>(checked((int)Math.Max(bytes, _values.LongLength * 2)), pinned: true);
            _values.AsSpan(0, keep).CopyTo(grown);
            _values = grown;
            fixed (byte* values = _values)
            {
                Values = values;
            }
        }

        ValueBytes = bytes;
        return _values.AsSpan(0, (int)bytes);
    }

    /// <summary>Owned storage for <paramref name="rows"/> + 1 offsets.</summary>
    public Span<int> EnsureOffsets(int rows)
    {
        if (_offsets.Length < rows + 1)
        {
            _offsets = GC.AllocateUninitializedArray<int>(Math.Max(rows + 1, _offsets.Length * 3 / 2), pinned: true);
        }

        fixed (int* offsets = _offsets)
        {
            Offsets = offsets;
        }

        return _offsets.AsSpan(0, rows + 1);
    }

    /// <summary>Marks the column fixed-length: no offsets.</summary>
    public void NoOffsets() => Offsets = null;

    /// <summary>Points at memory kept alive elsewhere (a view: nothing is owned or copied).</summary>
    public void View(byte* values, long valueBytes, int* offsets)
    {
        Values = values;
        ValueBytes = valueBytes;
        Offsets = offsets;
    }
}
