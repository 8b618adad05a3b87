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
        "  --batch-size N   (default 32)   --workers N (default 2)   --seed N (default 0)";

    public string? Root { get; init; }

    public int PerClass { get; init; } = 64;

    public int Epochs { get; init; } = 2;

    public int BatchSize { get; init; } = 32;

    public int Workers { get; init; } = 2;

    public ulong Seed { get; init; }

    public bool Help { get; init; }

    public static SampleOptions Parse(string[] args)
    {
        var options = new SampleOptions();
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            int Positive() => int.TryParse(Value(), CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new ArgumentException($"{args[i - 1]} needs a positive integer.");
            options = args[i] switch
            {
                "--root" => options with { Root = Value() },
                "--per-class" => options with { PerClass = Positive() },
                "--epochs" => options with { Epochs = Positive() },
                "--batch-size" => options with { BatchSize = Positive() },
                "--workers" => options with { Workers = Positive() },
                "--seed" => options with { Seed = ulong.Parse(Value(), CultureInfo.InvariantCulture) },
                "-h" or "--help" => options with { Help = true },
                _ => throw new ArgumentException($"Unknown argument {args[i]}."),
            };
        }

        return options;
    }
}
