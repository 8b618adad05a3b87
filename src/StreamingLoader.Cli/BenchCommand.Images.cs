using System.CommandLine;
using StreamingLoader.Images;

namespace StreamingLoader.Cli;

/// <summary><c>streamingloader bench images</c>: the image-folder workload of the side-by-side benchmark.</summary>
internal static partial class BenchCommand
{
    private static readonly float[] s_imageNetMean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] s_imageNetStd = [0.229f, 0.224f, 0.225f];

    private static Command CreateImages()
    {
        var data = new Option<DirectoryInfo>("--data") { Description = "Directory holding images/ (one sub-folder per class).", Required = true };
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 64 };
        var workers = WorkersOption();
        var json = JsonOption();
        var skia = new Option<bool>("--skia") { Description = "Decode JPEGs with Skia instead of libturbojpeg (as on a machine without it)." };
        var scaling = new Option<DecodeScaling>("--scaling") { Description = "DCT-scaled decoding of large JPEGs: Off (the default, torchvision's output), Balanced or Fast.", DefaultValueFactory = _ => DecodeScaling.Off };
        var metrics = new MetricsOptions();
        var command = new Command("images", "Image folder DIR/images: RandomResizedCrop(224), RandomHorizontalFlip, ToTensor, Normalize; shuffled.") { data, batch, workers, json, skia, scaling };
        var run = new BenchRun();
        run.AddTo(command);
        metrics.AddTo(command);
        command.SetAction(async (result, ct) =>
        {
            var root = Path.Combine(result.GetValue(data)!.FullName, "images");
            if (!Directory.Exists(root))
            {
                await Console.Error.WriteLineAsync($"error: {root} does not exist (tests/StreamingLoader.Benchmarks/anchor/make_images.py writes it).");
                return 2;
            }

            var folder = ImageFolder.Load(root, new ImageFolderOptions
            {
                JpegDecoder = result.GetValue(skia) ? JpegDecoder.Skia : JpegDecoder.Auto,
                DecodeScaling = result.GetValue(scaling),
            });
            await Console.Error.WriteLineAsync(folder.ToString());
            await using var server = await metrics.StartAsync(result, Console.Error, "streamingloader-bench", ct);
            var transform = ImageTransform.Compose(
                ImageTransform.RandomResizedCrop(224), ImageTransform.RandomHorizontalFlip(), ImageTransform.ToTensor(), ImageTransform.Normalize(s_imageNetMean, s_imageNetStd));
            var options = run.Apply(result, new LoaderOptions { BatchSize = result.GetValue(batch), Shuffle = true, Workers = result.GetValue(workers), Seed = 1, Name = "bench-images" });
            await run.RunAsync(result, "images", result.GetValue(json), () => folder.CreateLoader(transform, options), ct);
            return 0;
        });
        return command;
    }
}
