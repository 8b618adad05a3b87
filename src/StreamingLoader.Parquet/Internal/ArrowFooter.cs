using System.Buffers.Binary;

namespace StreamingLoader.Parquet.Internal;

/// <summary>
/// What the dataset needs from an Arrow IPC file without reading its record batches: where each batch ends and how
/// many rows it holds. Apache.Arrow reads the footer but does not expose its blocks, so this reads the two small
/// FlatBuffers it needs (the footer's record-batch blocks, and each batch's message header for its row count) by
/// byte range, so opening a remote shard reads its tail and a few hundred bytes a batch, not the batches.
/// </summary>
internal static class ArrowFooter
{
    /// <summary>"ARROW1": the first and last six bytes of an Arrow IPC file (a stream has none).</summary>
    public static ReadOnlySpan<byte> Magic => "ARROW1"u8;

    /// <summary>Reads the blocks of a file of <paramref name="length"/> bytes through <paramref name="read"/> (offset, buffer → bytes read).</summary>
    public static (long[] BatchEnds, int[] Rows) Read(long length, Func<long, Memory<byte>, int> read)
    {
        if (length < 18)
        {
            throw new InvalidDataException($"It holds {length} bytes: too few for an Arrow IPC file.");
        }

        var tail = Exactly(read, length - 10, 10);
        if (!tail.AsSpan(4).SequenceEqual(Magic))
        {
            throw new InvalidDataException("It does not end with the Arrow file footer (\"ARROW1\"): truncated or not an Arrow IPC file.");
        }

        var footerLength = BinaryPrimitives.ReadInt32LittleEndian(tail);
        if (footerLength <= 0 || footerLength > length - 18)
        {
            throw new InvalidDataException($"Its footer length ({footerLength}) does not fit in its {length} bytes.");
        }

        var footer = Exactly(read, length - 10 - footerLength, footerLength);
        var root = Table(footer, 0);
        var blocks = Vector(footer, root, 3);
        var count = blocks < 0 ? 0 : U32(footer, blocks);
        var ends = new long[count];
        var rows = new int[count];
        for (var b = 0; b < count; b++)
        {
            var at = blocks + 4 + (b * 24);
            var offset = I64(footer, at);
            var metadataLength = BinaryPrimitives.ReadInt32LittleEndian(footer.AsSpan(at + 8));
            var bodyLength = I64(footer, at + 16);
            if (offset < 8 || metadataLength < 8 || bodyLength < 0 || offset + metadataLength + bodyLength > length - 10 - footerLength)
            {
                throw new InvalidDataException($"Record batch {b} lies outside the file (offset {offset}, {metadataLength} + {bodyLength} bytes).");
            }

            ends[b] = offset + metadataLength + bodyLength;
            try
            {
                rows[b] = MessageRows(Exactly(read, offset, metadataLength));
            }
            catch (Exception ex) when (ex is ArgumentOutOfRangeException or IndexOutOfRangeException or InvalidDataException)
            {
                throw new InvalidDataException($"Record batch {b}: its header is not readable ({ex.Message}).", ex);
            }
        }

        return (ends, rows);
    }

    /// <summary>The row count of a record-batch message (continuation marker, length, then the Message FlatBuffer).</summary>
    private static int MessageRows(byte[] message)
    {
        var start = BinaryPrimitives.ReadUInt32LittleEndian(message) == 0xFFFFFFFF ? 8 : 4;
        var buffer = message.AsSpan(start).ToArray();
        var root = Table(buffer, 0);
        // Message: 0 version, 1 header_type (3 = RecordBatch), 2 header, 3 bodyLength.
        var typeField = Field(buffer, root, 1);
        if (typeField == 0 || buffer[root + typeField] != 3)
        {
            throw new InvalidDataException("the message is not a record batch");
        }

        var header = Reference(buffer, root, 2);
        var lengthField = Field(buffer, header, 0);
        var rows = lengthField == 0 ? 0 : I64(buffer, header + lengthField);
        return rows is < 0 or > int.MaxValue ? throw new InvalidDataException($"it says {rows} rows") : (int)rows;
    }

    private static byte[] Exactly(Func<long, Memory<byte>, int> read, long offset, int count)
    {
        var buffer = new byte[count];
        var got = 0;
        while (got < count)
        {
            var n = read(offset + got, buffer.AsMemory(got));
            if (n <= 0)
            {
                throw new EndOfStreamException($"It ended at byte {offset + got}.");
            }

            got += n;
        }

        return buffer;
    }

    /// <summary>The table an offset at <paramref name="at"/> points to.</summary>
    private static int Table(byte[] buffer, int at) => checked(at + (int)U32(buffer, at));

    /// <summary>The offset of field <paramref name="field"/> within the table, or 0 when absent (its vtable says so).</summary>
    private static int Field(byte[] buffer, int table, int field)
    {
        var vtable = table - BinaryPrimitives.ReadInt32LittleEndian(buffer.AsSpan(table));
        var size = BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(vtable));
        var slot = 4 + (2 * field);
        return slot + 2 > size ? 0 : BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(vtable + slot));
    }

    private static int Reference(byte[] buffer, int table, int field)
    {
        var at = Field(buffer, table, field);
        return at == 0 ? throw new InvalidDataException($"field {field} is missing") : Table(buffer, table + at);
    }

    /// <summary>The position of a vector field's length (its elements follow), or -1 when absent.</summary>
    private static int Vector(byte[] buffer, int table, int field) => Field(buffer, table, field) == 0 ? -1 : Reference(buffer, table, field);

    private static int U32(byte[] buffer, int at) => checked((int)BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(at)));

    private static long I64(byte[] buffer, int at) => BinaryPrimitives.ReadInt64LittleEndian(buffer.AsSpan(at));

    /// <summary>Whether <paramref name="head"/> (a shard's first bytes) starts an Arrow IPC file rather than a stream.</summary>
    public static bool IsFile(ReadOnlySpan<byte> head) => head.StartsWith(Magic);
}
