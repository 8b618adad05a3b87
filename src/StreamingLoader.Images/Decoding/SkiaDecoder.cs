using SkiaSharp;

namespace StreamingLoader.Images.Decoding;

/// <summary>
/// PNG, BMP, GIF (first frame), WebP, and JPEG when libjpeg-turbo does not decode it, through SkiaSharp's codec. Its
/// readers suspend where the data ends, as PIL's do: a file whose data ends before its image does is truncated
/// (rejected); a complete file with corrupt entropy-coded data decodes.
/// </summary>
internal static class SkiaDecoder
{
    /// <summary>The formats the error messages list.</summary>
    public const string Formats = "JPEG, PNG, BMP, GIF, WebP, TIFF, PBM/PGM/PPM";

    public static ImageHeader ReadHeader(byte[] data, int length, string path, ImageFormat format)
    {
        using var codec = CreateCodec(data, length, path);
        var info = codec.Info;
        return new ImageHeader(info.Width, info.Height, format, ImageCodec.Skia);
    }

    public static DecodedImage Decode(Workspace workspace, int length, string path, int channels, double minScaleX, double minScaleY)
    {
        try
        {
            return DecodeOnce(workspace, length, path, channels, minScaleX, minScaleY);
        }
        catch (InvalidDataException) when (ImageDecoder.Sniff(workspace.File.AsSpan(0, length)) == ImageFormat.Png && PngChecksums.RepairImageData(workspace.File.AsSpan(0, length)) > 0)
        {
            // Decoded as PIL decodes it, which does not check image-data checksums; counted as a warning.
            return DecodeOnce(workspace, length, path, channels, minScaleX, minScaleY) with { Warning = "wrong IDAT checksum (ignored, as PIL ignores it)" };
        }
    }

    private static unsafe DecodedImage DecodeOnce(Workspace workspace, int length, string path, int channels, double minScaleX, double minScaleY)
    {
        using var codec = CreateCodec(workspace.File, length, path);
        var full = codec.Info;

        // Only JPEG shrinks by DCT scaling; Skia would shrink other formats by dropping pixels.
        var size = new SKSizeI(full.Width, full.Height);
        if (codec.EncodedFormat == SKEncodedImageFormat.Jpeg)
        {
            var scaled = codec.GetScaledDimensions((float)Math.Min(1.0, Math.Max(minScaleX, minScaleY)));
            if (scaled.Width >= full.Width * minScaleX && scaled.Height >= full.Height * minScaleY)
            {
                size = scaled;
            }
        }

        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var bytes = size.Width * size.Height * 4;
        workspace.EnsurePixels(bytes);
        SKCodecResult result;
        fixed (byte* destination = workspace.Pixels)
        {
            result = codec.GetPixels(info, (nint)destination);
        }

        if (result != SKCodecResult.Success)
        {
            throw new InvalidDataException(result == SKCodecResult.IncompleteInput
                ? $"'{path}' is truncated: its data ends before the image does."
                : $"'{path}' is corrupt: the decoder stopped with {result}.");
        }

        ImageDecoder.PackRgba(workspace.Pixels[..bytes], channels);
        var (scaleX, scaleY) = ((double)size.Width / full.Width, (double)size.Height / full.Height);
        for (var eighths = 1; eighths < 8; eighths++)
        {
            // Skia shrinks JPEGs by DCT scaling (n/8, sizes rounded up): the exact factor places the box exactly.
            if (size.Width == ((full.Width * eighths) + 7) / 8 && size.Height == ((full.Height * eighths) + 7) / 8)
            {
                scaleX = scaleY = eighths / 8.0;
            }
        }

        return new DecodedImage(size.Width, size.Height, channels, scaleX, scaleY, ImageCodec.Skia);
    }

    private static unsafe SKCodec CreateCodec(byte[] data, int length, string path)
    {
        SKCodec? codec;
        fixed (byte* bytes = data)
        {
            using var skData = SKData.CreateCopy((nint)bytes, length);
            codec = SKCodec.Create(skData);
        }

        return codec ?? throw NotAnImage(path);
    }

    /// <summary>The error for a file no decoder can read a header of, whichever decoder tried.</summary>
    internal static InvalidDataException NotAnImage(string path) =>
        new($"'{path}' is not an image in a supported format ({Formats}), or its header is corrupt.");
}
