namespace StreamingLoader.Parquet.Internal;

/// <summary>Where a row's values lie in a decoded unit, and copies of rows for <see cref="ColumnarRow"/>.</summary>
internal static unsafe class RowCopy
{
    /// <summary>The row's values in <paramref name="block"/>: their address and their count (elements; bytes for text and binary).</summary>
    public static ReadOnlySpan<byte> Bytes(ResolvedColumn column, ColumnBlock block, int row)
    {
        var size = column.StoredSize;
        if (column.HasOffsets)
        {
            var start = block.Offsets[row];
            return new ReadOnlySpan<byte>(block.Values + ((long)start * size), (block.Offsets[row + 1] - start) * size);
        }

        var bytes = column.PerRow * size;
        return new ReadOnlySpan<byte>(block.Values + ((long)row * bytes), bytes);
    }

    /// <summary>A copy of row <paramref name="row"/> of <paramref name="unit"/>, each column's values 8-byte aligned.</summary>
    public static ColumnarRow Copy(RowSchema schema, ColumnUnit unit, int row, long index)
    {
        var columns = schema.Columns;
        var bounds = new int[columns.Length * 2];
        var total = 0;
        for (var c = 0; c < columns.Length; c++)
        {
            total = (total + 7) & ~7;
            bounds[2 * c] = total;
            total = checked(total + Bytes(columns[c], unit.Columns[c], row).Length);
            bounds[(2 * c) + 1] = total;
        }

        var data = GC.AllocateUninitializedArray<byte>(total);
        for (var c = 0; c < columns.Length; c++)
        {
            Bytes(columns[c], unit.Columns[c], row).CopyTo(data.AsSpan(bounds[2 * c]));
        }

        return new ColumnarRow(schema, index, data, bounds);
    }
}
