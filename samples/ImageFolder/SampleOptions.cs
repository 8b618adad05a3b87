using System.CommandLine;
using System.Globalization;

namespace StreamingLoader.Samples.ImageFolderLoading;

/// <summary>The sample's command line.</summary>
public sealed record SampleOptions
{
    public const string Usage =
        "usage: ImageFolder [--root DIR] [--per-class N] [--epochs N] [--batch-size N] [--workers N] [--seed N]\n" +
        "  --root DIR       an image folder (one sub-folder per class); default: one the sample generates in the temp folder\n" +
        "  --per-class N    images per class to generate (default 64)\n" +
        "  --epochs N       epochs to read (default 2)\n" +
        "  --batch-size N   (default 32)   --workers N (default 2)   --seed N (default 0)" + "\n" + SampleMetrics.Usage;

    public string? Root { get; init; }

    public int PerClass { get; init; } = 64;

    public int Epochs { get; init; } = 2;

    public int BatchSize { get; init; } = 32;

    public int Workers { get; init; } = 2;

    public ulong Seed { get; init; }

    internal SampleMetrics Metrics { get; init; } = SampleMetrics.Default;

    public bool Help { get; init; }

    public static SampleOptions Parse(string[] args)
    {
        var d = new SampleOptions();
        var root = SampleCommandLine.OptionalText("--root", "An image folder (one sub-folder per class); default: one the sample generates.");
        var perClass = SampleCommandLine.Positive("--per-class", d.PerClass, "Images per class to generate.");
        var epochs = SampleCommandLine.Positive("--epochs", d.Epochs, "Epochs to read.");
        var batchSize = SampleCommandLine.Positive("--batch-size", d.BatchSize, "Samples per batch.");
        var workers = SampleCommandLine.Positive("--workers", d.Workers, "Loader worker threads.");
        var seed = SampleCommandLine.Number("--seed", d.Seed, "Seeds the shuffle order and the augmentation.");
        var metrics = new SampleMetrics.Options();
        var result = SampleCommandLine.Parse(metrics.AddTo(new RootCommand("ImageFolder") { root, perClass, epochs, batchSize, workers, seed }), args, out var help);
        return new SampleOptions
        {
            Root = result.GetValue(root),
            PerClass = result.GetValue(perClass),
            Epochs = result.GetValue(epochs),
            BatchSize = result.GetValue(batchSize),
            Workers = result.GetValue(workers),
            Seed = result.GetValue(seed),
            Metrics = metrics.Read(result),
            Help = help,
        };
    }
}
