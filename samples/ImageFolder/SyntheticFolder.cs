using SkiaSharp;

namespace StreamingLoader.Samples.ImageFolderLoading;

/// <summary>Writes a small image folder of three classes (circles, squares, stripes) as JPEGs of 250–400 px.</summary>
public static class SyntheticFolder
{
    public static readonly string[] Classes = ["circle", "square", "stripes"];

    /// <summary>Writes <paramref name="perClass"/> images per class under <paramref name="root"/>, unless they are there.</summary>
    public static void Write(string root, int perClass, int seed = 0)
    {
        var random = new Random(seed);
        foreach (var name in Classes)
        {
            var folder = Path.Combine(root, name);
            Directory.CreateDirectory(folder);
            for (var i = 0; i < perClass; i++)
            {
                var path = Path.Combine(folder, $"{i:D4}.jpg");
                if (File.Exists(path))
                {
                    continue;
                }

                var (width, height) = (random.Next(250, 401), random.Next(250, 401));
                using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
                Draw(surface.Canvas, name, width, height, random);
                using var image = surface.Snapshot();
                using var data = image.Encode(SKEncodedImageFormat.Jpeg, 90);
                File.WriteAllBytes(path, data.ToArray());
            }
        }
    }

    private static void Draw(SKCanvas canvas, string shape, int width, int height, Random random)
    {
        SKColor RandomColor() => new((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
        using var background = new SKPaint { Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(width, height), [RandomColor(), RandomColor()], SKShaderTileMode.Clamp) };
        canvas.DrawRect(0, 0, width, height, background);
        using var paint = new SKPaint { Color = RandomColor(), IsAntialias = true };
        var size = Math.Min(width, height) * (0.3f + (0.4f * random.NextSingle()));
        var (cx, cy) = (width * (0.3f + (0.4f * random.NextSingle())), height * (0.3f + (0.4f * random.NextSingle())));
        switch (shape)
        {
            case "circle":
                canvas.DrawCircle(cx, cy, size / 2, paint);
                break;
            case "square":
                canvas.DrawRect(cx - (size / 2), cy - (size / 2), size, size, paint);
                break;
            default:
                for (var x = 0f; x < width; x += size / 4)
                {
                    canvas.DrawRect(x, 0, size / 8, height, paint);
                }

                break;
        }
    }
}
