using System.Diagnostics.Metrics;
using StreamingLoader.Telemetry;

namespace StreamingLoader.Images.Decoding;

/// <summary>
/// The image instruments, on a meter of StreamingLoader's name and version (<see cref="LoaderMetrics.MeterName"/>),
/// so whatever collects the loader's metrics collects these: images decoded and decoder warnings, by decoder.
/// </summary>
internal static class ImageMetrics
{
    /// <summary>Tag key: the library that decoded the image (turbojpeg, skia, libtiff, netpbm).</summary>
    public const string DecoderTag = "decoder";

    /// <summary>Tag key: the file's format (jpeg, png, gif, bmp, webp, tiff, netpbm, other).</summary>
    public const string FormatTag = "format";

    public const string DecodedName = "streamingloader.images.decoded";

    public const string WarningsName = "streamingloader.images.warnings";

    private static readonly Meter Meter = new(LoaderMetrics.MeterName, LoaderMetrics.MeterVersion);

    private static readonly Counter<long> Decoded = Meter.CreateCounter<long>(DecodedName, "{image}", "Images decoded, by decoder and format.");

    private static readonly Counter<long> Warnings = Meter.CreateCounter<long>(
        WarningsName, "{image}", "Images decoded with a decoder warning (corrupt data inside a complete file), by decoder and format.");

    public static void Record(in DecodedImage image, ImageFormat format)
    {
        var decoder = new KeyValuePair<string, object?>(DecoderTag, Name(image.Codec));
        var formatTag = new KeyValuePair<string, object?>(FormatTag, ImageDecoder.Name(format));
        Decoded.Add(1, decoder, formatTag);
        if (image.Warning is not null)
        {
            Warnings.Add(1, decoder, formatTag);
        }
    }

    public static string Name(ImageCodec codec) => codec switch
    {
        ImageCodec.TurboJpeg => "turbojpeg",
        ImageCodec.Skia => "skia",
        ImageCodec.LibTiff => "libtiff",
        _ => "netpbm",
    };
}
