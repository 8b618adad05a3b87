using SkiaSharp;

namespace StreamingLoader.Images.Decoding;

/// <summary>
/// Decodes an image file held in a <see cref="Workspace"/>: JPEG through TurboJPEG (at a reduced DCT scale when
/// asked), everything else, and JPEG when libturbojpeg is missing, through Skia. Every failure is an
/// <see cref="InvalidDataException"/> that names the file.
/// </summary>
internal static class ImageDecoder
{
    private const int JpegColorspaceCmyk = 3;
    private const int JpegColorspaceYcck = 4;
    private const int TurboFlags = TurboJpeg.FlagStopOnWarning | TurboJpeg.FlagLimitScans;

    private static readonly Lazy<TurboJpeg.ScalingFactor[]> s_factors = new(TurboJpeg.ShrinkingFactors);

    /// <summary>
    /// Reads the declared size and refuses an image above <paramref name="maxPixels"/>; a JPEG goes to TurboJPEG when
    /// it is installed, unless <paramref name="useTurboJpeg"/> is false (then to Skia, as without libturbojpeg).
    /// </summary>
    public static unsafe ImageHeader ReadHeader(Workspace workspace, int length, string path, long maxPixels, bool useTurboJpeg = true)
    {
        if (length == 0)
        {
            throw new InvalidDataException($"'{path}' is empty (0 bytes), not an image.");
        }

        ImageHeader header;
        var data = workspace.File;
        if (useTurboJpeg && IsJpeg(data, length) && TurboJpeg.IsAvailable)
        {
            int width, height, colorspace;
            fixed (byte* bytes = data)
            {
                if (TurboJpeg.DecompressHeader3(workspace.TurboJpeg, bytes, (nuint)length, out width, out height, out _, out colorspace) != 0)
                {
                    throw new InvalidDataException($"'{path}' is not a valid JPEG: {workspace.TurboJpegFailed()}.");
                }
            }

            // TurboJPEG cannot convert CMYK to RGB; Skia can.
            header = colorspace is JpegColorspaceCmyk or JpegColorspaceYcck ? SkiaHeader(data, length, path) : new ImageHeader(width, height, true);
        }
        else
        {
            header = SkiaHeader(data, length, path);
        }

        if (header.Width <= 0 || header.Height <= 0 || (long)header.Width * header.Height > maxPixels)
        {
            throw new InvalidDataException(
                $"'{path}' declares {header.Width} × {header.Height} = {(long)header.Width * header.Height:N0} pixels, above the limit of {maxPixels:N0} (ImageFolderOptions.MaxPixels): refused as a possible decompression bomb.");
        }

        return header;
    }

    /// <summary>
    /// Decodes into <see cref="Workspace.Pixels"/> with <paramref name="channels"/> (1 or 3) bytes a pixel, at the
    /// smallest scale not below <paramref name="minScaleX"/> and <paramref name="minScaleY"/> that the decoder offers
    /// (1 for a full-size decode).
    /// </summary>
    public static DecodedImage Decode(Workspace workspace, int length, string path, in ImageHeader header, int channels, double minScaleX, double minScaleY) =>
        header.TurboJpeg
            ? DecodeTurbo(workspace, length, path, header, channels, minScaleX, minScaleY)
            : DecodeSkia(workspace, length, path, channels, minScaleX, minScaleY);

    private static bool IsJpeg(byte[] data, int length) => length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;

    private static unsafe DecodedImage DecodeTurbo(Workspace workspace, int length, string path, in ImageHeader header, int channels, double minScaleX, double minScaleY)
    {
        var factor = new TurboJpeg.ScalingFactor();
        foreach (var candidate in s_factors.Value)
        {
            // Largest first: keep shrinking while the shrunk image still covers what the output needs.
            if ((double)candidate.Num / candidate.Denom < Math.Max(minScaleX, minScaleY))
            {
                break;
            }

            factor = candidate;
        }

        var (width, height) = factor.Denom == 0 ? (header.Width, header.Height) : (factor.Scale(header.Width), factor.Scale(header.Height));
        var pixels = workspace.EnsurePixels((long)width * height * channels);
        var format = channels == 1 ? TurboJpeg.PixelFormatGray : TurboJpeg.PixelFormatRgb;
        fixed (byte* source = workspace.File)
        fixed (byte* destination = pixels)
        {
            if (TurboJpeg.Decompress2(workspace.TurboJpeg, source, (nuint)length, destination, width, width * channels, height, format, TurboFlags) != 0)
            {
                throw new InvalidDataException($"'{path}' is a truncated or corrupt JPEG: {workspace.TurboJpegFailed()}.");
            }
        }

        var scale = factor.Denom == 0 ? 1.0 : (double)factor.Num / factor.Denom;
        return new DecodedImage(width, height, channels, scale, scale);
    }

    private static unsafe ImageHeader SkiaHeader(byte[] data, int length, string path)
    {
        using var codec = CreateCodec(data, length, path);
        var info = codec.Info;
        return new ImageHeader(info.Width, info.Height, false);
    }

    private static unsafe SKCodec CreateCodec(byte[] data, int length, string path)
    {
        SKCodec? codec;
        fixed (byte* bytes = data)
        {
            using var skData = SKData.CreateCopy((nint)bytes, length);
            codec = SKCodec.Create(skData);
        }

        if (codec is null)
        {
            var what = TurboJpeg.IsAvailable || !IsJpeg(data, length) ? string.Empty : $" ({TurboJpeg.LoadError})";
            throw new InvalidDataException($"'{path}' is not an image in a supported format (JPEG, PNG, BMP, GIF, WebP), or its header is corrupt{what}.");
        }

        return codec;
    }

    private static unsafe DecodedImage DecodeSkia(Workspace workspace, int length, string path, int channels, double minScaleX, double minScaleY)
    {
        using var codec = CreateCodec(workspace.File, length, path);
        var full = codec.Info;
        var size = codec.GetScaledDimensions((float)Math.Min(1.0, Math.Max(minScaleX, minScaleY)));
        if (size.Width < full.Width * minScaleX || size.Height < full.Height * minScaleY)
        {
            size = new SKSizeI(full.Width, full.Height);
        }

        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var pixels = workspace.EnsurePixels((long)size.Width * size.Height * 4);
        SKCodecResult result;
        fixed (byte* destination = pixels)
        {
            result = codec.GetPixels(info, (nint)destination);
        }

        if (result != SKCodecResult.Success)
        {
            throw new InvalidDataException($"'{path}' could not be decoded ({result}): the file is truncated or corrupt.");
        }

        Pack(pixels.AsSpan(0, size.Width * size.Height * 4), channels);
        var (scaleX, scaleY) = ((double)size.Width / full.Width, (double)size.Height / full.Height);
        for (var eighths = 1; eighths < 8; eighths++)
        {
            // Skia shrinks JPEGs by DCT scaling (n/8, sizes rounded up): the exact factor places the box exactly.
            if (size.Width == ((full.Width * eighths) + 7) / 8 && size.Height == ((full.Height * eighths) + 7) / 8)
            {
                scaleX = scaleY = eighths / 8.0;
            }
        }

        return new DecodedImage(size.Width, size.Height, channels, scaleX, scaleY);
    }

    /// <summary>Packs RGBA in place to RGB (alpha dropped, as PIL's <c>convert("RGB")</c>) or to PIL's luma.</summary>
    private static void Pack(Span<byte> rgba, int channels)
    {
        var pixels = rgba.Length / 4;
        if (channels == 3)
        {
            for (var i = 0; i < pixels; i++)
            {
                rgba[(3 * i) + 0] = rgba[(4 * i) + 0];
                rgba[(3 * i) + 1] = rgba[(4 * i) + 1];
                rgba[(3 * i) + 2] = rgba[(4 * i) + 2];
            }

            return;
        }

        for (var i = 0; i < pixels; i++)
        {
            rgba[i] = (byte)(((rgba[4 * i] * 19595) + (rgba[(4 * i) + 1] * 38470) + (rgba[(4 * i) + 2] * 7471) + 0x8000) >> 16);
        }
    }
}
