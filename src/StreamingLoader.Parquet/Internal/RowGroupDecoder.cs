using System.Runtime.InteropServices;
using ParquetSharp;
using StreamingLoader.Shards.Internal;

namespace StreamingLoader.Parquet.Internal;

/// <summary>
/// Decodes the projected columns of one row group with ParquetSharp's low-level column readers, straight into a
/// pooled unit: no managed allocation per row, and only the projected columns' chunks are read. Nulls, lists of the
/// wrong length and nested values are errors that name the row and the column.
/// </summary>
internal static class RowGroupDecoder
{
    private const int ByteArrayBatch = 1024;

    [ThreadStatic]
    private static short[]? t_definitions;

    [ThreadStatic]
    private static short[]? t_repetitions;

    [ThreadStatic]
    private static ByteArray[]? t_byteArrays;

    public static void Decode(ShardFile file, int rowGroup, ParquetLeaf[] leaves, ResolvedColumn[] columns, ColumnUnit into)
    {
        // A file on disk is read by Arrow's own file reader (a cached shard by its open handle's name, which stays
        // readable if another process evicts it); a stream costs a managed callback per read.
        Stream? stream = null;
        var reader = file.LocalPath is { } path ? new ParquetFileReader(path) : new ParquetFileReader(stream = file.OpenStream(), leaveOpen: true);
        using var disposeStream = stream;
        using var disposeReader = reader;
        using var group = reader.RowGroup(rowGroup);
        var rows = checked((int)group.MetaData.NumRows);
        for (var c = 0; c < columns.Length; c++)
        {
            using var column = group.Column(leaves[c].Index);
            var levels = checked((int)leaves[c].ValuesPerRowGroup[rowGroup]);
            var block = into.Columns[c];
            switch (column)
            {
                case ColumnReader<float> r: Numbers(r, rows, levels, leaves[c], columns[c], block); break;
                case ColumnReader<double> r: Numbers(r, rows, levels, leaves[c], columns[c], block); break;
                case ColumnReader<int> r: Numbers(r, rows, levels, leaves[c], columns[c], block); break;
                case ColumnReader<long> r: Numbers(r, rows, levels, leaves[c], columns[c], block); break;
                case ColumnReader<bool> r: Numbers(r, rows, levels, leaves[c], columns[c], block); break;
                case ColumnReader<ByteArray> r: Bytes(r, rows, leaves[c], block); break;
                default: throw new InvalidDataException($"Column '{leaves[c].Name}' holds {column.GetType().Name} values, which are not read.");
            }
        }

        into.Rows = rows;
    }

    private static void Numbers<T>(ColumnReader<T> reader, int rows, int levels, ParquetLeaf leaf, ResolvedColumn column, ColumnBlock block)
        where T : unmanaged
    {
        var count = leaf.Repeated ? levels : rows;
        var values = MemoryMarshal.Cast<byte, T>(block.EnsureValues((long)count * column.StoredSize));
        var definitions = Levels(ref t_definitions, count);
        var repetitions = Levels(ref t_repetitions, count);
        long read = 0, got = 0;
        while (reader.HasNext && read < count)
        {
            read += reader.ReadBatch(count - read, definitions.AsSpan((int)read), repetitions.AsSpan((int)read), values[(int)got..], out var valuesRead);
            got += valuesRead;
        }

        if (read != count || reader.HasNext)
        {
            throw new InvalidDataException($"Column '{leaf.Name}' holds {read}{(reader.HasNext ? " and more" : "")} levels; the footer lists {count}.");
        }

        if (!leaf.Repeated)
        {
            if (got != rows)
            {
                throw new InvalidDataException($"Row {FirstBelow(definitions.AsSpan(0, rows), leaf.MaxDefinition)}: column '{leaf.Name}' is null.");
            }

            block.NoOffsets();
            return;
        }

        if (column.Kind == ColumnKind.FixedSizeList)
        {
            FixedRows(repetitions.AsSpan(0, count), definitions.AsSpan(0, count), rows, column.PerRow, got, leaf);
            block.NoOffsets();
            return;
        }

        VariableRows(repetitions.AsSpan(0, count), definitions.AsSpan(0, count), block.EnsureOffsets(rows), leaf);
    }

    /// <summary>
    /// Every row is a list of <paramref name="length"/> values, none null, when the row starts (repetition level 0)
    /// fall exactly every <paramref name="length"/> levels and every level holds a value: as many zeros as rows (a
    /// vectorized count), each at a multiple of <paramref name="length"/>, and as many values as levels.
    /// </summary>
    private static void FixedRows(ReadOnlySpan<short> repetitions, ReadOnlySpan<short> definitions, int rows, int length, long values, ParquetLeaf leaf)
    {
        var starts = repetitions.Count((short)0);
        var even = starts == rows && repetitions.Length == (long)rows * length;
        for (var r = 0; even && r < rows; r++)
        {
            even = repetitions[r * length] == 0;
        }

        if (!even)
        {
            var offsets = new int[rows + 1];
            VariableRows(repetitions, definitions, offsets, leaf);
            var row = Enumerable.Range(0, rows).First(r => offsets[r + 1] - offsets[r] != length);
            throw new InvalidDataException($"Row {row}: column '{leaf.Name}' holds {offsets[row + 1] - offsets[row]} values, not {length} as in the rows before.");
        }

        if (values != repetitions.Length)
        {
            throw new InvalidDataException($"Row {FirstBelow(definitions, leaf.MaxDefinition) / length}: column '{leaf.Name}' holds a null value.");
        }
    }

    /// <summary>Row offsets of a list column from its levels; a null list or a null element is an error.</summary>
    private static void VariableRows(ReadOnlySpan<short> repetitions, ReadOnlySpan<short> definitions, Span<int> offsets, ParquetLeaf leaf)
    {
        var row = -1;
        var values = 0;
        for (var i = 0; i < repetitions.Length; i++)
        {
            if (repetitions[i] == 0)
            {
                offsets[++row] = values;
            }

            var definition = definitions[i];
            if (definition == leaf.MaxDefinition)
            {
                values++;
            }
            else if (definition >= leaf.ElementDefined)
            {
                throw new InvalidDataException($"Row {row}: column '{leaf.Name}' holds a null value.");
            }
            else if (definition < leaf.ListDefined)
            {
                throw new InvalidDataException($"Row {row}: column '{leaf.Name}' is null.");
            }
        }

        if (row != offsets.Length - 2)
        {
            throw new InvalidDataException($"Column '{leaf.Name}' holds {row + 1} rows; the row group has {offsets.Length - 1}.");
        }

        offsets[^1] = values;
    }

    /// <summary>Strings or binary values, one a row, copied into the block (a value's bytes are only valid until the next read).</summary>
    private static unsafe void Bytes(ColumnReader<ByteArray> reader, int rows, ParquetLeaf leaf, ColumnBlock block)
    {
        var offsets = block.EnsureOffsets(rows);
        var arrays = t_byteArrays ??= new ByteArray[ByteArrayBatch];
        var definitions = Levels(ref t_definitions, ByteArrayBatch);
        var repetitions = Levels(ref t_repetitions, ByteArrayBatch);
        var bytes = block.EnsureValues(Math.Max(block.ValueCapacity, 1024));
        var used = 0;
        var row = 0;
        while (reader.HasNext && row < rows)
        {
            var read = (int)reader.ReadBatch(Math.Min(ByteArrayBatch, rows - row), definitions, repetitions, arrays, out var valuesRead);
            if (valuesRead != read)
            {
                throw new InvalidDataException($"Row {row + FirstBelow(definitions.AsSpan(0, read), leaf.MaxDefinition)}: column '{leaf.Name}' is null.");
            }

            for (var i = 0; i < read; i++)
            {
                var value = arrays[i];
                if (used + (long)value.Length > bytes.Length)
                {
                    bytes = block.GrowValues(Math.Max((long)bytes.Length * 2, used + (long)value.Length), used);
                }

                new ReadOnlySpan<byte>((void*)value.Pointer, value.Length).CopyTo(bytes[used..]);
                offsets[row++] = used;
                used += value.Length;
            }
        }

        if (row != rows)
        {
            throw new InvalidDataException($"Column '{leaf.Name}' holds {row} values for {rows} rows.");
        }

        offsets[rows] = used;
        block.GrowValues(used, used);
    }

    private static int FirstBelow(ReadOnlySpan<short> definitions, int level)
    {
        for (var i = 0; i < definitions.Length; i++)
        {
            if (definitions[i] < level)
            {
                return i;
            }
        }

        return definitions.Length;
    }

    private static short[] Levels(ref short[]? buffer, int count)
    {
        if (buffer is null || buffer.Length < count)
        {
            buffer = new short[Math.Max(count, 1024)];
        }

        return buffer;
    }
}
