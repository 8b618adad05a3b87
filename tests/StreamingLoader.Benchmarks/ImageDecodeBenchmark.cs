using System.Diagnostics;
using System.Globalization;
using StreamingLoader.Images;
using StreamingLoader.Images.Decoding;

namespace StreamingLoader.Benchmarks;

/// <summary>
/// <c>decode --data DIR [--skia]</c>: full-size decodes of every file of the image folder DIR/images on one thread
/// (images/s), for context beside the image pipeline's figures (compare_images.sh prints it with PIL's rate on the same
/// files). Uses the library's decoder directly, so it lives here and not in the shipped tool.
/// </summary>
internal static class ImageDecodeBenchmark
{
    public static int Run(string[] args)
    {
        string? data = null;
        var skia = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--data" when i + 1 < args.Length:
                    data = args[++i];
                    break;
                case "--skia":
                    skia = true;
                    break;
                default:
                    Console.Error.WriteLine($"decode: unknown argument '{args[i]}'. Usage: decode --data DIR [--skia]");
                    return 2;
            }
        }

        var root = data is null ? null : Path.Combine(data, "images");
        if (root is null || !Directory.Exists(root))
        {
            Console.Error.WriteLine($"decode: {root ?? "--data DIR"} does not exist (anchor/make_images.py writes DIR/images).");
            return 2;
        }

        var folder = ImageFolder.Load(root, new ImageFolderOptions { JpegDecoder = skia ? JpegDecoder.Skia : JpegDecoder.Auto });
        Console.Error.WriteLine(folder.ToString());
        Console.WriteLine(DecodeAll(folder));
        return 0;
    }

    /// <summary>Full-size decodes of every file on this thread, after one pass to warm the page cache and the code.</summary>
    private static string DecodeAll(ImageFolder folder)
    {
        var workspace = new Workspace();
        void Pass()
        {
            foreach (var file in folder.Samples)
            {
                var length = workspace.ReadFile(file.Path);
                var header = ImageDecoder.ReadHeader(workspace, length, file.Path, long.MaxValue, folder.JpegDecoder);
                ImageDecoder.Decode(workspace, length, file.Path, header, 3, 1, 1);
            }
        }

        Pass();
        var start = Stopwatch.GetTimestamp();
        Pass();
        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var decoder = folder.JpegDecoder == JpegDecoder.TurboJpeg ? "libjpeg-turbo (TurboJPEG)" : "Skia";
        return string.Create(CultureInfo.InvariantCulture, $"{{\"workload\":\"decode\",\"decoder\":\"{decoder}\",\"images\":{folder.Count},\"seconds\":{seconds:F4},\"images_per_s\":{folder.Count / seconds:F1}}}");
    }
}
