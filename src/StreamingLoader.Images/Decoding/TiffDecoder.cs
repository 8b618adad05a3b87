using BitMiracle.LibTiff.Classic;

namespace StreamingLoader.Images.Decoding;

/// <summary>
/// TIFF (first page) through LibTiff.NET, a managed port of libtiff, so it reads the same on every platform. 8-bit
/// gray, gray + alpha, RGB and RGBA in one plane are read sample by sample (alpha dropped, as PIL's
/// <c>convert("RGB")</c>); everything else (palette, bilevel, CMYK, YCbCr, 16-bit, tiles, planes) through libtiff's RGBA
/// interface.
/// </summary>
internal static class TiffDecoder
{
    [ThreadStatic]
    private static string? t_error;

    static TiffDecoder() => Tiff.SetErrorHandler(new MessageKeeper());

    public static ImageHeader ReadHeader(Workspace workspace, int length, string path)
    {
        using var tiff = Open(workspace, length, path);
        var width = tiff.GetField(TiffTag.IMAGEWIDTH)?[0].ToInt() ?? 0;
        var height = tiff.GetField(TiffTag.IMAGELENGTH)?[0].ToInt() ?? 0;
        return new ImageHeader(width, height, ImageFormat.Tiff, ImageCodec.LibTiff);
    }

    public static DecodedImage Decode(Workspace workspace, int length, string path, in ImageHeader header, int channels)
    {
        using var tiff = Open(workspace, length, path);
        var (width, height) = (header.Width, header.Height);
        var samples = tiff.GetFieldDefaulted(TiffTag.SAMPLESPERPIXEL)[0].ToInt();
        var bits = tiff.GetFieldDefaulted(TiffTag.BITSPERSAMPLE)[0].ToInt();
        var photometric = (Photometric)(tiff.GetField(TiffTag.PHOTOMETRIC)?[0].ToInt() ?? -1);
        var planar = (PlanarConfig)tiff.GetFieldDefaulted(TiffTag.PLANARCONFIG)[0].ToInt();
        var direct = !tiff.IsTiled() && bits == 8 && planar == PlanarConfig.CONTIG && samples is >= 1 and <= 4
            && ((photometric == Photometric.MINISBLACK && samples <= 2) || (photometric == Photometric.RGB && samples >= 3));
        workspace.EnsurePixels(4L * width * height);
        var pixels = workspace.Pixels;
        t_error = null;
        if (direct)
        {
            var row = new byte[Math.Max(tiff.ScanlineSize(), width * samples)];
            for (var y = 0; y < height; y++)
            {
                if (!tiff.ReadScanline(row, y))
                {
                    throw Failed(path);
                }

                var target = pixels.Slice(y * width * 4, width * 4);
                for (var x = 0; x < width; x++)
                {
                    var source = x * samples;
                    var (r, g, b) = samples <= 2 ? (row[source], row[source], row[source]) : (row[source], row[source + 1], row[source + 2]);
                    target[4 * x] = r;
                    target[(4 * x) + 1] = g;
                    target[(4 * x) + 2] = b;
                }
            }
        }
        else if (!tiff.ReadRGBAImageOriented(width, height, workspace.PixelWords, Orientation.TOPLEFT, true))
        {
            // The words are little-endian A B G R: bytes R G B A, as the rows above.
            throw Failed(path);
        }

        ImageDecoder.PackRgba(pixels[..(4 * width * height)], channels);
        return new DecodedImage(width, height, channels, 1, 1, ImageCodec.LibTiff);
    }

    private static Tiff Open(Workspace workspace, int length, string path)
    {
        t_error = null;
        var stream = new MemoryStream(workspace.File, 0, length, writable: false);
        Tiff? tiff;
        try
        {
            tiff = Tiff.ClientOpen(path, "r", stream, new TiffStream());
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw new InvalidDataException($"'{path}' has a corrupt TIFF header: {ex.Message}", ex);
        }

        return tiff ?? throw new InvalidDataException($"'{path}' has a corrupt TIFF header: {t_error ?? "libtiff could not read it"}.");
    }

    private static InvalidDataException Failed(string path) =>
        t_error is { } error && error.Contains("end of", StringComparison.OrdinalIgnoreCase)
            ? new InvalidDataException($"'{path}' is truncated: {error}.")
            : new InvalidDataException($"'{path}' is corrupt: {t_error ?? "libtiff could not decode it"}.");

    /// <summary>Keeps a thread's last libtiff error for its message; warnings (unknown tags and such) are ignored, as PIL does.</summary>
    private sealed class MessageKeeper : TiffErrorHandler
    {
        public override void ErrorHandler(Tiff tif, string method, string format, params object[] args)
        {
            try
            {
                t_error = $"{method}: {string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args)}";
            }
            catch (FormatException)
            {
                t_error = $"{method}: {format}";
            }
        }

        public override void ErrorHandlerExt(Tiff tif, object clientData, string method, string format, params object[] args) =>
            ErrorHandler(tif, method, format, args);

        public override void WarningHandler(Tiff tif, string method, string format, params object[] args)
        {
        }

        public override void WarningHandlerExt(Tiff tif, object clientData, string method, string format, params object[] args)
        {
        }
    }
}
