using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Memory;
using StreamingLoader.Shards.Internal;

namespace StreamingLoader.Parquet.Internal;

/// <summary>
/// Reads record batch k of an Arrow IPC shard into a unit whose projected columns point into the batch's buffers.
/// A shard on disk is memory-mapped and read with Apache.Arrow's memory reader, which slices the buffers out of the
/// mapping: no copy (bool columns, bit-packed in Arrow, are unpacked to a byte a value). Otherwise (a remote shard read
/// by ranges, a shard over 2 GiB) the batch is read through a stream into native memory: one copy. Only the projected
/// columns are touched; their nulls, offsets and buffer sizes are checked, and a failure names the row and the column.
/// </summary>
internal static unsafe class RecordBatchDecoder
{
    /// <summary>Decodes batch <paramref name="batch"/>; <paramref name="file"/> is owned by the unit from here on.</summary>
    public static void Decode(ShardFile file, ArrowLayout layout, int batch, ResolvedColumn[] columns, ColumnUnit into)
    {
        var owner = new UnitOwner();
        owner.Add(file);
        try
        {
            var record = owner.Add(Read(file, layout, batch, owner));
            if (record.Length != layout.Rows[batch])
            {
                throw new InvalidDataException($"It holds {record.Length} rows; the file's footer says {layout.Rows[batch]}.");
            }

            for (var c = 0; c < columns.Length; c++)
            {
                var index = record.Schema.GetFieldIndex(columns[c].Name);
                Column(record.Column(index), record.Length, columns[c], into.Columns[c], owner);
            }

            into.Rows = record.Length;
            into.Owner = owner;
        }
        catch
        {
            owner.Dispose();
            throw;
        }
    }

    private static RecordBatch Read(ShardFile file, ArrowLayout layout, int batch, UnitOwner owner)
    {
        ArrowStreamReader reader;
        if (file.LocalPath is { } path && file.Length <= int.MaxValue)
        {
            var mapped = owner.Add(new MappedShard(path, file.Length));

            // A file is the stream format between its 8-byte magic and its footer: read up to the end of batch k.
            var memory = layout.IsFile ? mapped.Memory[8..(int)layout.BatchEnds![batch]] : mapped.Memory;
            reader = owner.Add(new ArrowStreamReader(memory));
        }
        else if (layout.IsFile)
        {
            var fileReader = owner.Add(new ArrowFileReader(owner.Add(file.OpenStream()), new NativeMemoryAllocator(), leaveOpen: true));
            return fileReader.ReadRecordBatchAsync(batch, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }
        else
        {
            reader = owner.Add(new ArrowStreamReader(owner.Add(file.OpenStream()), new NativeMemoryAllocator(), leaveOpen: true));
        }

        // Earlier batches are skipped: from mapped memory that is reading their headers (their buffers are slices).
        for (var k = 0; k < batch; k++)
        {
            using var skipped = reader.ReadNextRecordBatch() ?? throw new InvalidDataException($"It ends after {k} record batches.");
        }

        return reader.ReadNextRecordBatch() ?? throw new InvalidDataException($"It ends after {batch} record batches.");
    }

    private static void Column(IArrowArray array, int rows, ResolvedColumn column, ColumnBlock block, UnitOwner owner)
    {
        NoNulls(array, column, "Row", "is null");
        switch (array)
        {
            case BooleanArray bools:
                var bytes = block.EnsureValues(rows);
                for (var r = 0; r < rows; r++)
                {
                    bytes[r] = bools.GetValue(r) == true ? (byte)1 : (byte)0;
                }

                block.NoOffsets();
                break;
            case BinaryArray binary:
                var offsets = Offsets(binary.ValueOffsetsBuffer, binary.Offset, rows, binary.ValueBuffer.Length, column, owner);
                block.View(owner.Pin(binary.ValueBuffer.Memory), binary.ValueBuffer.Length, offsets);
                break;
            case ListArray list:
                var values = Values(list.Values, column, owner, out var count);
                block.View(values, (long)count * column.StoredSize, Offsets(list.ValueOffsetsBuffer, list.Offset, rows, count, column, owner));
                break;
            case FixedSizeListArray fixedList:
                var length = ((Apache.Arrow.Types.FixedSizeListType)fixedList.Data.DataType).ListSize;
                var all = Values(fixedList.Values, column, owner, out var available);
                var first = (long)fixedList.Offset * length;
                if (first + ((long)rows * length) > available)
                {
                    throw new InvalidDataException($"Column '{column.Name}' holds {available} values; its {rows} rows of {length} need {first + ((long)rows * length)}.");
                }

                if (column.HasOffsets)
                {
                    // Mapped to a variable-length field (the column's length differs between shards): offsets of every k.
                    var even = block.EnsureOffsets(rows);
                    for (var r = 0; r <= rows; r++)
                    {
                        even[r] = checked((int)(first + ((long)r * length)));
                    }

                    block.View(all, available * column.StoredSize, block.Offsets);
                }
                else
                {
                    block.View(all + (first * column.StoredSize), (long)rows * length * column.StoredSize, null);
                }

                break;
            case Apache.Arrow.Array primitive:
                var size = column.StoredSize;
                var buffer = primitive.Data.Buffers[1];
                if (buffer.Length < ((long)primitive.Offset + rows) * size)
                {
                    throw new InvalidDataException($"Column '{column.Name}' holds {buffer.Length} bytes; its {rows} rows need {((long)primitive.Offset + rows) * size}.");
                }

                block.View(owner.Pin(buffer.Memory) + ((long)primitive.Offset * size), (long)rows * size, null);
                break;
            default:
                throw new InvalidDataException($"Column '{column.Name}' holds {array.Data.DataType.Name} values, which are not read.");
        }
    }

    /// <summary>The address of a list's first value (its child's offset applied) and how many values it holds.</summary>
    private static byte* Values(IArrowArray child, ResolvedColumn column, UnitOwner owner, out long count)
    {
        NoNulls(child, column, "Value", "holds a null value");
        var size = column.StoredSize;
        var buffer = child.Data.Buffers[1];
        count = Math.Max(0, Math.Min(child.Length, (buffer.Length / size) - child.Offset));
        return owner.Pin(buffer.Memory) + ((long)child.Offset * size);
    }

    /// <summary>The row offsets (rows + 1 from <paramref name="offset"/>), checked to rise within <paramref name="limit"/> values.</summary>
    private static int* Offsets(ArrowBuffer buffer, int offset, int rows, long limit, ResolvedColumn column, UnitOwner owner)
    {
        if (buffer.Length < ((long)offset + rows + 1) * sizeof(int))
        {
            throw new InvalidDataException($"Column '{column.Name}' holds {buffer.Length / sizeof(int)} offsets; its {rows} rows need {offset + rows + 1}.");
        }

        var offsets = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(buffer.Span).Slice(offset, rows + 1);
        var previous = offsets[0];
        if (previous < 0)
        {
            throw new InvalidDataException($"Row 0: column '{column.Name}' starts at value {previous}.");
        }

        for (var r = 1; r <= rows; r++)
        {
            if (offsets[r] < previous || offsets[r] > limit)
            {
                throw new InvalidDataException($"Row {r - 1}: column '{column.Name}' ends at value {offsets[r]}, outside {previous}..{limit}: the offsets are corrupt.");
            }

            previous = offsets[r];
        }

        return (int*)(owner.Pin(buffer.Memory) + ((long)offset * sizeof(int)));
    }

    private static void NoNulls(IArrowArray array, ResolvedColumn column, string at, string what)
    {
        if (array.NullCount == 0)
        {
            return;
        }

        for (var r = 0; r < array.Length; r++)
        {
            if (array.IsNull(r))
            {
                throw new InvalidDataException($"{at} {r}: column '{column.Name}' {what}.");
            }
        }

        throw new InvalidDataException($"Column '{column.Name}' says it holds {array.NullCount} nulls.");
    }
}
