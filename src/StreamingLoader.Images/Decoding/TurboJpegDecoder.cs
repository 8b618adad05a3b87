namespace StreamingLoader.Images.Decoding;

/// <summary>
/// JPEG through libjpeg-turbo's TurboJPEG API, at a reduced DCT scale when asked. A file on which libjpeg-turbo
/// reports anything (a warning such as bytes before a marker or corrupt entropy-coded data, or an error) is handed to
/// Skia, whose libjpeg reads from a suspending source as PIL's does: the verdict on a damaged file is then the same
/// with or without libturbojpeg, and PIL's (data that ends early is truncated; corrupt data inside a complete file is
/// decoded), and libjpeg-turbo's message is kept as the file's warning.
/// </summary>
internal static class TurboJpegDecoder
{
    private const int ColorspaceGray = 2;
    private const int ColorspaceCmyk = 3;
    private const int ColorspaceYcck = 4;

    private static readonly Lazy<TurboJpeg.ScalingFactor[]> s_factors = new(TurboJpeg.ShrinkingFactors);

    public static unsafe ImageHeader ReadHeader(Workspace workspace, int length, string path)
    {
        int width, height, colorspace, result;
        fixed (byte* bytes = workspace.File)
        {
            result = TurboJpeg.DecompressHeader3(workspace.TurboJpeg, bytes, (nuint)length, out width, out height, out _, out colorspace);
        }

        if (result != 0)
        {
            // A header libjpeg-turbo reads with a warning, or cannot read (an unusual subsampling it has no name for).
            var message = workspace.TurboJpegFailed();
            return SkiaDecoder.ReadHeader(workspace.File, length, path, ImageFormat.Jpeg) with { Warning = $"libjpeg-turbo: {message}" };
        }

        return new ImageHeader(width, height, ImageFormat.Jpeg, ImageCodec.TurboJpeg, colorspace);
    }

    public static unsafe DecodedImage Decode(Workspace workspace, int length, string path, in ImageHeader header, int channels, double minScaleX, double minScaleY)
    {
        var factor = new TurboJpeg.ScalingFactor();
        foreach (var candidate in s_factors.Value)
        {
            // Largest first: keep shrinking while the shrunk image still has what the output needs.
            if ((double)candidate.Num / candidate.Denom < Math.Max(minScaleX, minScaleY))
            {
                break;
            }

            factor = candidate;
        }

        var (width, height) = factor.Denom == 0 ? (header.Width, header.Height) : (factor.Scale(header.Width), factor.Scale(header.Height));
        // Gray output of a colour JPEG is PIL's luma of the decoded RGB, not libjpeg's Y (which differs where RGB clips).
        var cmyk = header.JpegColorspace is ColorspaceCmyk or ColorspaceYcck;
        var gray = channels == 1 && header.JpegColorspace == ColorspaceGray;
        var bytesPerPixel = cmyk ? 4 : gray ? 1 : 3;
        workspace.EnsurePixels((long)width * height * bytesPerPixel);
        var format = cmyk ? TurboJpeg.PixelFormatCmyk : gray ? TurboJpeg.PixelFormatGray : TurboJpeg.PixelFormatRgb;
        int result;
        fixed (byte* source = workspace.File)
        fixed (byte* destination = workspace.Pixels)
        {
            result = TurboJpeg.Decompress2(workspace.TurboJpeg, source, (nuint)length, destination, width, width * bytesPerPixel, height, format, 0);
        }

        if (result != 0)
        {
            var message = workspace.TurboJpegFailed();
            return SkiaDecoder.Decode(workspace, length, path, channels, minScaleX, minScaleY) with { Warning = $"libjpeg-turbo: {message}" };
        }

        if (cmyk)
        {
            CmykToRgb(workspace.Pixels[..(width * height * 4)], channels);
        }
        else if (channels == 1 && !gray)
        {
            var pixels = workspace.Pixels;
            for (var i = 0; i < width * height; i++)
            {
                pixels[i] = ImageDecoder.Luma(pixels[3 * i], pixels[(3 * i) + 1], pixels[(3 * i) + 2]);
            }
        }

        var scale = factor.Denom == 0 ? 1.0 : (double)factor.Num / factor.Denom;
        return new DecodedImage(width, height, channels, scale, scale, ImageCodec.TurboJpeg);
    }

    /// <summary>
    /// PIL's CMYK to RGB on a JPEG's CMYK as stored, which PIL takes as Adobe's inverted CMYK ("CMYK;I"):
    /// with c, k the inverted values, each channel is (255 − k) − c (255 − k) / 255, rounded as PIL rounds.
    /// Packed in place to 3 bytes a pixel, or to PIL's luma for one channel.
    /// </summary>
    private static void CmykToRgb(Span<byte> cmyk, int channels)
    {
        var pixels = cmyk.Length / 4;
        for (var i = 0; i < pixels; i++)
        {
            var nk = cmyk[(4 * i) + 3];
            var r = Channel(cmyk[4 * i], nk);
            var g = Channel(cmyk[(4 * i) + 1], nk);
            var b = Channel(cmyk[(4 * i) + 2], nk);
            if (channels == 3)
            {
                cmyk[3 * i] = r;
                cmyk[(3 * i) + 1] = g;
                cmyk[(3 * i) + 2] = b;
            }
            else
            {
                cmyk[i] = ImageDecoder.Luma(r, g, b);
            }
        }

        static byte Channel(int stored, int nk)
        {
            // MULDIV255(255 − stored, nk), then CLIP8(nk − it).
            var t = ((255 - stored) * nk) + 128;
            return (byte)Math.Clamp(nk - (((t >> 8) + t) >> 8), 0, 255);
        }
    }
}
