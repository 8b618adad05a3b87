namespace StreamingLoader.Images.Decoding;

/// <summary>
/// Decodes an image file held in a <see cref="Workspace"/>, by the decoder its format calls for: JPEG through
/// TurboJPEG or Skia (<see cref="JpegDecoder"/>), PNG, BMP, GIF and WebP through Skia, TIFF through LibTiff.NET, PBM,
/// PGM and PPM by <see cref="NetpbmDecoder"/>. Every failure is an <see cref="InvalidDataException"/> that names the
/// file and is the same whichever JPEG decoder runs.
/// </summary>
internal static class ImageDecoder
{
    /// <summary>
    /// Reads the declared size and refuses an image above <paramref name="maxPixels"/>; a JPEG goes to
    /// <paramref name="jpegDecoder"/> (<see cref="JpegDecoder.TurboJpeg"/> or <see cref="JpegDecoder.Skia"/>).
    /// </summary>
    public static ImageHeader ReadHeader(Workspace workspace, int length, string path, long maxPixels, JpegDecoder jpegDecoder)
    {
        if (length == 0)
        {
            throw new InvalidDataException($"'{path}' is empty (0 bytes), not an image.");
        }

        var data = workspace.File.AsSpan(0, length);
        var format = Sniff(data);
        if (format == ImageFormat.Jpeg)
        {
            JpegStructure.RequireEndOfMultiScan(data, path);
        }

        var header = format switch
        {
            ImageFormat.Jpeg when jpegDecoder == JpegDecoder.TurboJpeg => TurboJpegDecoder.ReadHeader(workspace, length, path),
            ImageFormat.Netpbm => NetpbmDecoder.ReadHeader(data, path),
            ImageFormat.Tiff => TiffDecoder.ReadHeader(workspace, length, path),
            _ => SkiaDecoder.ReadHeader(workspace.File, length, path, format),
        };

        // A header that ends before the frame's size (libjpeg-turbo reads it as 0 × 0) is corrupt, as Skia says.
        if (header.Width <= 0 || header.Height <= 0)
        {
            throw SkiaDecoder.NotAnImage(path);
        }

        if ((long)header.Width * header.Height > maxPixels)
        {
            throw new InvalidDataException(
                $"'{path}' declares {header.Width} × {header.Height} = {(long)header.Width * header.Height:N0} pixels, above the limit of {maxPixels:N0} (ImageFolderOptions.MaxPixels): refused as a possible decompression bomb.");
        }

        return header;
    }

    /// <summary>
    /// Decodes into <see cref="Workspace.Pixels"/> with <paramref name="channels"/> (1 or 3) bytes a pixel; a JPEG at
    /// the smallest DCT scale not below <paramref name="minScaleX"/> and <paramref name="minScaleY"/> (1: full size).
    /// </summary>
    public static DecodedImage Decode(Workspace workspace, int length, string path, in ImageHeader header, int channels, double minScaleX, double minScaleY)
    {
        var image = header.Codec switch
        {
            ImageCodec.TurboJpeg => TurboJpegDecoder.Decode(workspace, length, path, header, channels, minScaleX, minScaleY),
            ImageCodec.Netpbm => NetpbmDecoder.Decode(workspace, length, path, header, channels),
            ImageCodec.LibTiff => TiffDecoder.Decode(workspace, length, path, header, channels),
            _ => SkiaDecoder.Decode(workspace, length, path, channels, minScaleX, minScaleY),
        };

        return header.Warning is null || image.Warning is not null ? image : image with { Warning = header.Warning };
    }

    /// <summary>The format its first bytes say a file has.</summary>
    public static ImageFormat Sniff(ReadOnlySpan<byte> data) => data switch
    {
        [0xFF, 0xD8, 0xFF, ..] => ImageFormat.Jpeg,
        [0x89, (byte)'P', (byte)'N', (byte)'G', ..] => ImageFormat.Png,
        [(byte)'G', (byte)'I', (byte)'F', (byte)'8', ..] => ImageFormat.Gif,
        [(byte)'B', (byte)'M', ..] => ImageFormat.Bmp,
        [(byte)'R', (byte)'I', (byte)'F', (byte)'F', _, _, _, _, (byte)'W', (byte)'E', (byte)'B', (byte)'P', ..] => ImageFormat.WebP,
        [(byte)'I', (byte)'I', 42, 0, ..] or [(byte)'M', (byte)'M', 0, 42, ..] => ImageFormat.Tiff,
        [(byte)'P', >= (byte)'1' and <= (byte)'6', (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'#', ..] => ImageFormat.Netpbm,
        _ => ImageFormat.Other,
    };

    /// <summary>The lower-case name of a format, as the <c>format</c> tag of the image metrics.</summary>
    public static string Name(ImageFormat format) => format switch
    {
        ImageFormat.Jpeg => "jpeg",
        ImageFormat.Png => "png",
        ImageFormat.Gif => "gif",
        ImageFormat.Bmp => "bmp",
        ImageFormat.WebP => "webp",
        ImageFormat.Tiff => "tiff",
        ImageFormat.Netpbm => "netpbm",
        _ => "other",
    };

    /// <summary>
    /// Packs RGBA in place to RGB (alpha dropped, as PIL's <c>convert("RGB")</c>) or to PIL's luma
    /// (<c>convert("L")</c>: 0.299 R + 0.587 G + 0.114 B in 16-bit fixed point).
    /// </summary>
    public static void PackRgba(Span<byte> rgba, int channels)
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
            rgba[i] = Luma(rgba[4 * i], rgba[(4 * i) + 1], rgba[(4 * i) + 2]);
        }
    }

    /// <summary>PIL's luma of an RGB pixel.</summary>
    public static byte Luma(int r, int g, int b) => (byte)(((r * 19595) + (g * 38470) + (b * 7471) + 0x8000) >> 16);
}
