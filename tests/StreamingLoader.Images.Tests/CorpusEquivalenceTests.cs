using StreamingLoader.Images.Decoding;
using Xunit.Abstractions;

namespace StreamingLoader.Images.Tests;

/// <summary>
/// The default pipeline against torchvision on an image of every class (equivalence.py): JPEG 4:2:0 / 4:2:2 / 4:4:4,
/// progressive, grayscale, CMYK, EXIF-rotated, PNG of every colour type and depth, BMP, GIF, WebP, PPM/PGM, TIFF, with
/// photo-like content from 150 px to 12 megapixels. Prints the table per class the README reports.
/// </summary>
public sealed class CorpusEquivalenceTests(EquivalenceCorpus corpus, ITestOutputHelper output) : IClassFixture<EquivalenceCorpus>
{
    private static readonly float[] s_mean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] s_std = [0.229f, 0.224f, 0.225f];

    /// <summary>The deviation the README documents for each scaled mode (the worst measured on this corpus, rounded up).</summary>
    private static readonly Dictionary<DecodeScaling, PixelDifference> s_documented = new()
    {
        [DecodeScaling.Off] = PixelDifference.Bound,
        [DecodeScaling.Balanced] = new(1.0, 20.0, 32.0),
        [DecodeScaling.Fast] = new(4.5, 39.0, 120.0),
    };

    private static ImageTransform Tutorial() => ImageTransform.Compose(
        ImageTransform.Resize(256), ImageTransform.CenterCrop(224), ImageTransform.ToTensor(), ImageTransform.Normalize(s_mean, s_std));

    [Theory]
    [InlineData(JpegDecoder.TurboJpeg, DecodeScaling.Off)]
    [InlineData(JpegDecoder.Skia, DecodeScaling.Off)]
    [InlineData(JpegDecoder.TurboJpeg, DecodeScaling.Balanced)]
    [InlineData(JpegDecoder.Skia, DecodeScaling.Balanced)]
    [InlineData(JpegDecoder.TurboJpeg, DecodeScaling.Fast)]
    [InlineData(JpegDecoder.Skia, DecodeScaling.Fast)]
    public void Process_EveryImageClass_WithinTheDocumentedBoundOfTorchvision(JpegDecoder decoder, DecodeScaling scaling)
    {
        var processor = ImageProcessor.Create(Tutorial(), new ImageFolderOptions { JpegDecoder = decoder, DecodeScaling = scaling });
        var byClass = new SortedDictionary<string, (PixelDifference Worst, int Count, string Decoders)>(StringComparer.Ordinal);
        var failures = new List<string>();
        foreach (var image in corpus.Images)
        {
            var (cls, path) = (image.GetProperty("class").GetString()!, Path.Combine(corpus.Root, image.GetProperty("path").GetString()!));
            var expected = corpus.Load(image.GetProperty("ref").GetString()!);
            var actual = new float[expected.Length];

            var decoded = processor.Process(path, default, actual, 224, 224);

            Assert.Equal(Expected(cls, decoder), decoded.Codec);
            Assert.Null(decoded.Warning);
            var difference = PixelDifference.Of(actual, expected, s_std, 224 * 224);
            if (!difference.Within(s_documented[scaling]))
            {
                failures.Add($"{image.GetProperty("path").GetString()}: {difference}");
            }

            var (worst, count, decoders) = byClass.GetValueOrDefault(cls, (new PixelDifference(0, 0, 0), 0, string.Empty));
            var scale = decoded.ScaleX < 1 ? $" at {decoded.ScaleX * 8}/8" : string.Empty;
            byClass[cls] = (worst.Worst(difference), count + 1, decoders.Contains(decoded.Codec + scale, StringComparison.Ordinal) ? decoders : $"{decoders} {decoded.Codec}{scale}");
        }

        output.WriteLine($"| class | images | mean | p99 | max | decoder ({decoder}, {scaling}) |");
        foreach (var (cls, (worst, count, decoders)) in byClass)
        {
            output.WriteLine($"| {cls} | {count} | {worst.Mean:F2} | {worst.P99:F2} | {worst.Max:F2} | {decoders.Trim()} |");
        }

        Assert.True(failures.Count == 0, $"Above {s_documented[scaling]}:\n{string.Join('\n', failures)}");
        Assert.True(byClass.Count >= 40 && byClass.Values.Sum(c => c.Count) >= 80, $"{byClass.Count} classes");
    }

    [Fact]
    public void Process_SixteenBitGrayscale_ScalesWherePil94ClipsToWhite()
    {
        var processor = ImageProcessor.Create(Tutorial(), new ImageFolderOptions());
        var sixteen = corpus.Images.Where(i => i.TryGetProperty("pil", out _)).ToArray();
        Assert.Equal(4, sixteen.Length);
        foreach (var image in sixteen)
        {
            var actual = new float[3 * 224 * 224];
            processor.Process(Path.Combine(corpus.Root, image.GetProperty("path").GetString()!), default, actual, 224, 224);

            var meant = PixelDifference.Of(actual, corpus.Load(image.GetProperty("ref").GetString()!), s_std, 224 * 224);
            var pil = PixelDifference.Of(actual, corpus.Load(image.GetProperty("pil").GetString()!), s_std, 224 * 224);
            output.WriteLine($"{image.GetProperty("path").GetString()}: against the image scaled to 8 bits {meant}; against PIL's {pil}");
            Assert.True(meant.Within(PixelDifference.Bound), meant.ToString());
            Assert.True(pil.Mean > 50, $"PIL 9.4 was expected to clip {image.GetProperty("path").GetString()} to white: {pil}");
        }
    }

    [Fact]
    public void Load_DefaultExtensions_TakeTorchvisionsSamplesInTorchvisionsOrder()
    {
        var folder = ImageFolder.Load(Path.Combine(corpus.Root, "corpus"));

        var expected = corpus.Manifest.GetProperty("samples").EnumerateArray().Select(s => (s[0].GetString()!, s[1].GetInt32())).ToArray();
        var actual = folder.Samples.Select(s => (Path.GetRelativePath(Path.Combine(corpus.Root, "corpus"), s.Path), s.Label)).ToArray();
        Assert.Equal(expected, actual);
        Assert.Contains(actual, s => s.Item1.EndsWith(".ppm", StringComparison.Ordinal));
        Assert.Contains(actual, s => s.Item1.EndsWith(".tiff", StringComparison.Ordinal));
    }

    private static ImageCodec Expected(string cls, JpegDecoder decoder) => cls switch
    {
        _ when cls.StartsWith("jpeg", StringComparison.Ordinal) => decoder == JpegDecoder.TurboJpeg ? ImageCodec.TurboJpeg : ImageCodec.Skia,
        _ when cls.StartsWith("tiff", StringComparison.Ordinal) => ImageCodec.LibTiff,
        _ when cls.StartsWith("pgm", StringComparison.Ordinal) || cls == "ppm" => ImageCodec.Netpbm,
        _ => ImageCodec.Skia,
    };
}
