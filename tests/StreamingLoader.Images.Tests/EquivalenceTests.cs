using System.Text.Json;
using StreamingLoader.Images.Decoding;
using StreamingLoader.Images.Geometry;
using Xunit.Abstractions;

namespace StreamingLoader.Images.Tests;

/// <summary>Our transforms against torchvision 0.14's on the same JPEG and PNG files (reference.py).</summary>
public class EquivalenceTests(TorchvisionReference reference, ITestOutputHelper output) : IClassFixture<TorchvisionReference>
{
    private static readonly float[] s_mean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] s_std = [0.229f, 0.224f, 0.225f];

    private static ImageTransform Pipeline(string name) => name switch
    {
        "tutorial" => ImageTransform.Compose(ImageTransform.Resize(256), ImageTransform.CenterCrop(224), ImageTransform.ToTensor(), ImageTransform.Normalize(s_mean, s_std)),
        "resize_exact" => ImageTransform.Compose(ImageTransform.Resize(100, 150), ImageTransform.ToTensor()),
        "resize_short" => ImageTransform.Compose(ImageTransform.Resize(128), ImageTransform.CenterCrop(128), ImageTransform.ToTensor()),
        "upsize" => ImageTransform.Compose(ImageTransform.Resize(420), ImageTransform.CenterCrop(400), ImageTransform.ToTensor()),
        "center_crop" => ImageTransform.Compose(ImageTransform.CenterCrop(224), ImageTransform.ToTensor()),
        "crop_then_resize" => ImageTransform.Compose(ImageTransform.CenterCrop(140), ImageTransform.Resize(64), ImageTransform.ToTensor()),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    [Theory]
    [InlineData(JpegDecoder.TurboJpeg)]
    [InlineData(JpegDecoder.Skia)]
    public void Process_DeterministicTransforms_MatchTorchvisionWithinTheBound(JpegDecoder decoder)
    {
        var samples = reference.Manifest.GetProperty("samples").EnumerateArray().Select(s => s[0].GetString()!).ToArray();
        var worst = new PixelDifference(0, 0, 0);
        var checkedCount = 0;
        foreach (var r in reference.Manifest.GetProperty("refs").EnumerateArray())
        {
            var (index, mode, name) = (r.GetProperty("index").GetInt32(), r.GetProperty("mode").GetString(), r.GetProperty("pipeline").GetString()!);
            var shape = r.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var expected = reference.Load(r.GetProperty("file").GetString()!);
            var options = new ImageFolderOptions { ColorMode = mode == "L" ? ImageColorMode.Grayscale : ImageColorMode.Rgb, JpegDecoder = decoder };
            var processor = ImageProcessor.Create(Pipeline(name), options);
            var path = Path.Combine(reference.Folder, samples[index]);
            var actual = new float[expected.Length];

            var image = processor.Process(path, default, actual, shape[1], shape[2]);

            Assert.Equal(shape[0], processor.Channels);
            if (path.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase))
            {
                // The decoder this row is about is the one that ran.
                Assert.Equal(decoder == JpegDecoder.TurboJpeg ? ImageCodec.TurboJpeg : ImageCodec.Skia, image.Codec);
            }

            var difference = PixelDifference.Of(actual, expected, name == "tutorial" ? s_std : [1f], shape[1] * shape[2]);
            worst = worst.Worst(difference);
            checkedCount++;
            Assert.True(difference.Within(PixelDifference.Bound), $"{samples[index]} ({mode}) {name}: |ours − torchvision| {difference}, above the bound {PixelDifference.Bound}.");
        }

        output.WriteLine($"{decoder}: {checkedCount} outputs, worst {worst}");
        Assert.True(checkedCount >= 80);
    }

    [Fact]
    public void Load_SameFolder_GivesTorchvisionsClassesAndSamples()
    {
        var folder = ImageFolder.Load(reference.Folder);

        var classes = reference.Manifest.GetProperty("classes").EnumerateArray().Select(c => c.GetString()!).ToArray();
        Assert.Equal(classes, folder.Classes);
        foreach (var pair in reference.Manifest.GetProperty("class_to_idx").EnumerateObject())
        {
            Assert.Equal(pair.Value.GetInt32(), folder.ClassToIndex[pair.Name]);
        }

        var expected = reference.Manifest.GetProperty("samples").EnumerateArray().Select(s => (s[0].GetString()!, s[1].GetInt32())).ToArray();
        var actual = folder.Samples.Select(s => (Path.GetRelativePath(reference.Folder, s.Path), s.Label)).ToArray();
        Assert.Equal(expected, actual);
    }

    /// <summary>
    /// Two-sample Kolmogorov–Smirnov tests of our RandomResizedCrop boxes against 4,000 drawn by torchvision, on the area
    /// fraction, the log aspect ratio and the box center: at α = 0.001 the statistic stays below 1.95 √(2/n).
    /// </summary>
    [Fact]
    public void SampleBox_ManyDraws_DistributedAsTorchvisions()
    {
        var transform = (RandomResizedCropTransform)ImageTransform.RandomResizedCrop(224);
        foreach (var pair in reference.Manifest.GetProperty("rrc_boxes").EnumerateObject())
        {
            var size = pair.Name.Split('x').Select(int.Parse).ToArray();
            var (width, height) = (size[0], size[1]);
            var theirs = pair.Value.EnumerateArray().Select(b => (b[0].GetInt32(), b[1].GetInt32(), b[2].GetInt32(), b[3].GetInt32())).ToArray();
            var ours = new (int, int, int, int)[theirs.Length];
            for (var i = 0; i < ours.Length; i++)
            {
                var random = new CounterRandom(99, 0, i);
                ours[i] = transform.SampleBox(width, height, random);
            }

            var critical = 1.95 * Math.Sqrt(2.0 / theirs.Length);
            foreach (var (feature, f) in Features(width, height))
            {
                var d = KolmogorovSmirnov(ours.Select(f).ToArray(), theirs.Select(f).ToArray());
                output.WriteLine($"{pair.Name} {feature}: D = {d:F4} (critical {critical:F4})");
                Assert.True(d < critical, $"{pair.Name} {feature}: KS statistic {d:F4} ≥ {critical:F4}");
            }

            Assert.All(ours, b => Assert.True(b.Item1 >= 0 && b.Item2 >= 0 && b.Item1 + b.Item3 <= height && b.Item2 + b.Item4 <= width));
        }
    }

    private static IEnumerable<(string, Func<(int Top, int Left, int Height, int Width), double>)> Features(int width, int height) =>
    [
        ("area", b => (double)b.Height * b.Width / (width * height)),
        ("log ratio", b => Math.Log((double)b.Width / b.Height)),
        ("center x", b => (b.Left + (b.Width / 2.0)) / width),
        ("center y", b => (b.Top + (b.Height / 2.0)) / height),
    ];

    private static double KolmogorovSmirnov(double[] a, double[] b)
    {
        Array.Sort(a);
        Array.Sort(b);
        int i = 0, j = 0;
        var d = 0.0;
        while (i < a.Length && j < b.Length)
        {
            var x = Math.Min(a[i], b[j]);
            while (i < a.Length && a[i] <= x)
            {
                i++;
            }

            while (j < b.Length && b[j] <= x)
            {
                j++;
            }

            d = Math.Max(d, Math.Abs(((double)i / a.Length) - ((double)j / b.Length)));
        }

        return d;
    }
}
