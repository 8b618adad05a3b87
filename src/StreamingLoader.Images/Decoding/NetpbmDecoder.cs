namespace StreamingLoader.Images.Decoding;

/// <summary>
/// PBM, PGM and PPM (P1 … P6, plain and binary, 1 to 16 bits): samples scaled from 0 … maxval to 0 … 255, rounded,
/// and bitmaps with 1 as black, as PIL reads them; 16-bit grayscale is scaled, not clipped (PIL 9.4 clips it to white).
/// </summary>
internal static class NetpbmDecoder
{
    public static ImageHeader ReadHeader(ReadOnlySpan<byte> data, string path)
    {
        var (width, height, _, _) = Parse(data, path);
        return new ImageHeader(width, height, ImageFormat.Netpbm, ImageCodec.Netpbm);
    }

    public static DecodedImage Decode(Workspace workspace, int length, string path, in ImageHeader header, int channels)
    {
        var data = workspace.File.AsSpan(0, length);
        var (width, height, maxval, offset) = Parse(data, path);
        var kind = data[1] - (byte)'0';
        var plain = kind <= 3;
        var samples = kind is 3 or 6 ? 3 : 1;
        var bitmap = kind is 1 or 4;
        workspace.EnsurePixels((long)width * height * Math.Max(channels, samples));
        var pixels = workspace.Pixels;
        var position = offset;
        var count = width * height * samples;
        if (bitmap && !plain)
        {
            var rowBytes = (width + 7) / 8;
            if (position + ((long)rowBytes * height) > data.Length)
            {
                throw Truncated(path);
            }

            for (var y = 0; y < height; y++)
            {
                for (var x = 0; x < width; x++)
                {
                    pixels[(y * width) + x] = (data[position + (y * rowBytes) + (x >> 3)] & (0x80 >> (x & 7))) != 0 ? (byte)0 : (byte)255;
                }
            }
        }
        else
        {
            var wide = maxval > 255;
            for (var i = 0; i < count; i++)
            {
                int value;
                if (plain)
                {
                    value = bitmap ? NextBit(data, ref position, path) : NextNumber(data, ref position, path);
                }
                else
                {
                    if (position + (wide ? 2 : 1) > data.Length)
                    {
                        throw Truncated(path);
                    }

                    value = wide ? (data[position] << 8) | data[position + 1] : data[position];
                    position += wide ? 2 : 1;
                }

                pixels[i] = bitmap ? (value == 0 ? (byte)255 : (byte)0)
                    : maxval == 255 ? (byte)Math.Min(value, 255)
                    : (byte)Math.Min(255, ((value * 255) + (maxval / 2)) / maxval);
            }
        }

        Convert(pixels, width * height, samples, channels);
        return new DecodedImage(width, height, channels, 1, 1, ImageCodec.Netpbm);
    }

    /// <summary>Converts samples-a-pixel to channels-a-pixel in place: gray to RGB from the end, RGB to luma from the start.</summary>
    private static void Convert(Span<byte> pixels, int count, int samples, int channels)
    {
        if (samples == 1 && channels == 3)
        {
            for (var i = count - 1; i >= 0; i--)
            {
                pixels[(3 * i) + 2] = pixels[(3 * i) + 1] = pixels[3 * i] = pixels[i];
            }
        }
        else if (samples == 3 && channels == 1)
        {
            for (var i = 0; i < count; i++)
            {
                pixels[i] = ImageDecoder.Luma(pixels[3 * i], pixels[(3 * i) + 1], pixels[(3 * i) + 2]);
            }
        }
    }

    /// <summary>The header's numbers and where the raster starts.</summary>
    private static (int Width, int Height, int Maxval, int Offset) Parse(ReadOnlySpan<byte> data, string path)
    {
        var kind = data[1] - (byte)'0';
        var position = 2;
        var width = NextNumber(data, ref position, path);
        var height = NextNumber(data, ref position, path);
        var maxval = kind is 1 or 4 ? 1 : NextNumber(data, ref position, path);
        if (width <= 0 || height <= 0 || maxval is <= 0 or > 65535)
        {
            throw new InvalidDataException($"'{path}' has a corrupt PBM/PGM/PPM header: {width} × {height}, maxval {maxval}.");
        }

        // One whitespace byte ends the header of a binary raster.
        return (width, height, maxval, kind >= 4 ? position + 1 : position);
    }

    private static int NextNumber(ReadOnlySpan<byte> data, ref int position, string path)
    {
        SkipSpaceAndComments(data, ref position);
        if (position >= data.Length)
        {
            throw Truncated(path);
        }

        if (data[position] is < (byte)'0' or > (byte)'9')
        {
            throw new InvalidDataException($"'{path}' is corrupt: byte {position} of a PBM/PGM/PPM file is '{(char)data[position]}' where a number belongs.");
        }

        long value = 0;
        while (position < data.Length && data[position] is >= (byte)'0' and <= (byte)'9')
        {
            value = Math.Min(int.MaxValue, (value * 10) + (data[position++] - '0'));
        }

        return (int)value;
    }

    private static int NextBit(ReadOnlySpan<byte> data, ref int position, string path)
    {
        SkipSpaceAndComments(data, ref position);
        if (position >= data.Length)
        {
            throw Truncated(path);
        }

        return data[position++] == (byte)'0' ? 0 : 1;
    }

    private static void SkipSpaceAndComments(ReadOnlySpan<byte> data, ref int position)
    {
        while (position < data.Length)
        {
            if (data[position] == (byte)'#')
            {
                while (position < data.Length && data[position] != (byte)'\n' && data[position] != (byte)'\r')
                {
                    position++;
                }
            }
            else if (data[position] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\v' or (byte)'\f')
            {
                position++;
            }
            else
            {
                return;
            }
        }
    }

    private static InvalidDataException Truncated(string path) => new($"'{path}' is truncated: its data ends before the image does.");
}
