using ParquetSharp;
using StreamingLoader.Shards.Internal;

namespace StreamingLoader.Parquet.Internal;

/// <summary>
/// Decodes the projected columns of one row group with ParquetSharp's low-level column readers, straight into a
/// pooled unit: no managed allocation per row. Only the two mapped columns' chunks are read.
/// </summary>
internal static class RowGroupDecoder
{
    [ThreadStatic]
    private static short[]? t_definitions;

    [ThreadStatic]
    private static short[]? t_repetitions;

    public static void Decode(ShardFile file, int rowGroup, ParquetLeaf features, ParquetLeaf label, int length, DecodedUnit into)
    {
        // A file on disk is read by Arrow's own file reader; a stream costs a managed callback per read.
        Stream? stream = null;
        ParquetFileReader reader;
        try
        {
            reader = file.LocalPath is { } path ? new ParquetFileReader(path) : new ParquetFileReader(stream = file.OpenStream(), leaveOpen: true);
        }
        catch (IOException) when (file.LocalPath is not null)
        {
            // The path was evicted by another process; this handle still reads it.
            reader = new ParquetFileReader(stream = file.OpenStream(), leaveOpen: true);
        }

        using var disposeStream = stream;
        using var disposeReader = reader;
        Read(reader, rowGroup, features, label, length, into);
    }

    private static void Read(ParquetFileReader reader, int rowGroup, ParquetLeaf features, ParquetLeaf label, int length, DecodedUnit into)
    {
        using var group = reader.RowGroup(rowGroup);
        var rows = checked((int)group.MetaData.NumRows);
        var values = rows * length;
        if (values > into.Features.Length || rows > into.Labels.Length)
        {
            throw new InvalidDataException($"Row group {rowGroup} has {rows} rows; the dataset was opened with at most {into.Labels.Length} per row group.");
        }

        var definitions = Levels(ref t_definitions, values);
        var repetitions = Levels(ref t_repetitions, values);
        using (var column = group.Column(features.Index))
        {
            if (column is not ColumnReader<float> floats)
            {
                throw new InvalidDataException($"Column '{features.Name}' holds {column.GetType().Name} values, not float32.");
            }

            long levels = 0, read = 0;
            while (floats.HasNext && levels < values)
            {
                var got = floats.ReadBatch(values - levels, definitions.AsSpan((int)levels), repetitions.AsSpan((int)levels), into.Features.AsSpan((int)read), out var valuesRead);
                levels += got;
                read += valuesRead;
            }

            if (floats.HasNext || levels != values || read != values)
            {
                throw new InvalidDataException($"Column '{features.Name}' of row group {rowGroup} holds {read} values in {levels} entries{(floats.HasNext ? " and more" : "")}; {rows} rows of {length} need {values}, none null.");
            }

            for (var i = 0; i < values; i++)
            {
                if ((repetitions[i] == 0) != (i % length == 0))
                {
                    throw new InvalidDataException($"Row {i / length} of row group {rowGroup}: column '{features.Name}' is not a list of {length} values in every row.");
                }
            }
        }

        using (var column = group.Column(label.Index))
        {
            long read = 0;
            switch (column)
            {
                case ColumnReader<long> longs:
                    while (longs.HasNext && read < rows)
                    {
                        longs.ReadBatch(rows - read, definitions.AsSpan(0, rows - (int)read), repetitions.AsSpan(0, rows - (int)read), into.Labels.AsSpan((int)read), out var got);
                        read += got;
                    }

                    break;
                case ColumnReader<int> ints:
                    var temp = new int[rows];
                    while (ints.HasNext && read < rows)
                    {
                        ints.ReadBatch(rows - read, definitions.AsSpan(0, rows - (int)read), repetitions.AsSpan(0, rows - (int)read), temp.AsSpan((int)read), out var got);
                        read += got;
                    }

                    for (var i = 0; i < read; i++)
                    {
                        into.Labels[i] = temp[i];
                    }

                    break;
                default:
                    throw new InvalidDataException($"Column '{label.Name}' holds {column.GetType().Name} values, not int64 or int32.");
            }

            if (read != rows)
            {
                throw new InvalidDataException($"Column '{label.Name}' of row group {rowGroup} holds {read} values for {rows} rows (nulls are not labels).");
            }
        }

        into.Rows = rows;
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
