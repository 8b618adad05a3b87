using SkiaSharp;

namespace StreamingLoader.Images.Tests;

/// <summary>Degenerate sizes through every transform: outputs of the planned size, every value finite and in range.</summary>
public sealed class TinyImageTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "sl-tiny-" + Guid.NewGuid().ToString("N"));

    public TinyImageTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData(1, 1, "png")]
    [InlineData(3, 2, "jpg")]
    [InlineData(1, 300, "png")]
    [InlineData(500, 7, "jpg")]
    [InlineData(17, 9, "jpg")]
    public void Process_TinyOrThinImage_FillsTheOutputWithPixelValues(int width, int height, string format)
    {
        var path = Write(width, height, format);
        var transforms = new[]
        {
            ImageTransform.Compose(ImageTransform.Resize(256), ImageTransform.CenterCrop(224), ImageTransform.RandomHorizontalFlip(1), ImageTransform.ToTensor()),
            ImageTransform.Compose(ImageTransform.RandomResizedCrop(224), ImageTransform.ToTensor()),
            ImageTransform.Compose(ImageTransform.CenterCrop(32), ImageTransform.ToTensor()),
            ImageTransform.Compose(ImageTransform.Resize(5, 40), ImageTransform.ToTensor()),
        };
        foreach (var transform in transforms)
        {
            var processor = ImageProcessor.Create(transform, new ImageFolderOptions());
            var (h, w) = processor.FixedSize!.Value;
            var output = new float[3 * h * w];
            output.AsSpan().Fill(float.NaN);

            processor.Process(path, default, output, h, w);

            Assert.All(output, v => Assert.InRange(v, 0f, 1f + 1e-5f));
        }
    }

    private string Write(int width, int height, string format)
    {
        using var bitmap = new SKBitmap(width, height);
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                bitmap.SetPixel(x, y, new SKColor((byte)(x * 37), (byte)(y * 53), (byte)((x + y) * 11)));
            }
        }

        var path = Path.Combine(_root, $"{width}x{height}.{format}");
        using var data = bitmap.Encode(format == "png" ? SKEncodedImageFormat.Png : SKEncodedImageFormat.Jpeg, 95);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }
}
