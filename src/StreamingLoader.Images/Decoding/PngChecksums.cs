using System.Buffers.Binary;

namespace StreamingLoader.Images.Decoding;

/// <summary>
/// PIL checks the checksums of a PNG's header chunks but not of its image data (IDAT): a file whose only damage is an
/// IDAT checksum decodes in PIL, where libpng stops. Rewriting those checksums gives libpng PIL's verdict.
/// </summary>
internal static class PngChecksums
{
    /// <summary>Rewrites every wrong IDAT checksum in place; returns how many were wrong.</summary>
    public static int RepairImageData(Span<byte> png)
    {
        var repaired = 0;
        var position = 8;
        while (position + 12 <= png.Length)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(png[position..]);
            if (length > int.MaxValue || position + 12 + (long)length > png.Length)
            {
                break;
            }

            var typeAndData = png.Slice(position + 4, 4 + (int)length);
            var stored = png.Slice(position + 8 + (int)length, 4);
            if (typeAndData[..4].SequenceEqual("IDAT"u8) && BinaryPrimitives.ReadUInt32BigEndian(stored) != Crc(typeAndData))
            {
                BinaryPrimitives.WriteUInt32BigEndian(stored, Crc(typeAndData));
                repaired++;
            }

            position += 12 + (int)length;
        }

        return repaired;
    }

    /// <summary>PNG's CRC-32 (ISO 3309, reflected, polynomial 0xEDB88320).</summary>
    private static uint Crc(ReadOnlySpan<byte> data)
    {
        var table = s_table.Value;
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return ~crc;
    }

    private static readonly Lazy<uint[]> s_table = new(() =>
    {
        var table = new uint[256];
        for (var n = 0u; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    });
}
