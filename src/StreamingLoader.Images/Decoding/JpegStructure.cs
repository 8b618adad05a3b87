namespace StreamingLoader.Images.Decoding;

/// <summary>
/// The one verdict on a JPEG that no decoder's reader gives the same way: a progressive (or other multi-scan) JPEG
/// must reach its end marker. libjpeg reads every scan of such a file before the first pixel, and PIL's reader, which
/// suspends where the data ends, rejects the file as truncated when the end marker is missing; libjpeg-turbo's and
/// Skia's readers invent the end marker after corrupt data and would accept it. Checked before either decodes.
/// </summary>
internal static class JpegStructure
{
    /// <summary>Throws when <paramref name="data"/> is a multi-scan JPEG whose data ends before its end marker.</summary>
    public static void RequireEndOfMultiScan(ReadOnlySpan<byte> data, string path)
    {
        var position = 2;
        var multiScan = false;
        var frameComponents = 0;
        while (position < data.Length)
        {
            // Find the next marker, skipping the bytes libjpeg would warn about and the fill bytes.
            var next = data[position..].IndexOf((byte)0xFF);
            if (next < 0)
            {
                break;
            }

            position += next;
            while (position < data.Length && data[position] == 0xFF)
            {
                position++;
            }

            if (position >= data.Length)
            {
                break;
            }

            var marker = data[position++];
            if (marker == 0xD9)
            {
                return;
            }

            if (marker is 0x00 or 0x01 or (>= 0xD0 and <= 0xD7))
            {
                continue;
            }

            if (position + 2 > data.Length)
            {
                break;
            }

            var length = (data[position] << 8) | data[position + 1];
            if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC && position + 7 < data.Length)
            {
                // SOFn: 0xC2, 0xC6, 0xCA and 0xCE are progressive.
                multiScan |= (marker & 0x03) == 0x02;
                frameComponents = data[position + 7];
            }
            else if (marker == 0xDA && position + 2 < data.Length)
            {
                multiScan |= data[position + 2] < frameComponents;
                if (!multiScan)
                {
                    // A single scan: decoders agree on it (and PIL's verdict depends on bits past the last block).
                    return;
                }

                // Skip the header; the entropy-coded data runs to the next marker, found by the loop.
                position += length;
                continue;
            }

            position += length;
            if (position >= data.Length)
            {
                break;
            }
        }

        if (multiScan)
        {
            throw new InvalidDataException($"'{path}' is truncated: its data ends before the image does.");
        }
    }
}
