using System.CommandLine;
using System.Globalization;
using StreamingLoader.Images;
using StreamingLoader.Samples.ImageFolderLoading;
using StreamingLoader.TorchSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace StreamingLoader.Samples.ImageFolderTorch;

/// <summary>
/// A small CNN trained with TorchSharp on image folders read by <see cref="ImageFolder"/>: a training folder and a test
/// folder of circles, squares and stripes (generated), the tutorial's transforms at 64 × 64 so that it trains in
/// seconds on a CPU, and the test accuracy after every epoch.
/// </summary>
public static class Program
{
    private static readonly float[] s_mean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] s_std = [0.229f, 0.224f, 0.225f];

    public static async Task<int> Main(string[] args)
    {
        // libtorch's intra-op threads go to the training thread, where the epochs run: one OpenMP team.
        TorchThreads.ApplyDefaults();
        var epochs = SampleCommandLine.Positive("--epochs", new TrainingOptions().Epochs, "Epochs to train.");
        var metricsOptions = new SampleMetrics.Options();
        bool help;
        ParseResult result;
        try
        {
            result = SampleCommandLine.Parse(metricsOptions.AddTo(new RootCommand("ImageFolderTorch: a small CNN trained on generated image folders.") { epochs }), args, out help);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 2;
        }

        if (help)
        {
            return await result.InvokeAsync();
        }

        await using var metrics = await metricsOptions.Read(result).StartAsync("ImageFolderTorch", Console.Out);
        await RunAsync(new TrainingOptions { Epochs = result.GetValue(epochs) }, Console.Out);
        return 0;
    }

    /// <summary>Generates the folders (unless present), trains and tests, logging to <paramref name="output"/>.</summary>
    public static async Task<IReadOnlyList<ImageEpoch>> RunAsync(TrainingOptions options, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        var root = options.Root ?? Path.Combine(Path.GetTempPath(), $"streamingloader-imagefolder-torch-{options.PerClass}");
        SyntheticFolder.Write(Path.Combine(root, "train"), options.PerClass, seed: 0);
        SyntheticFolder.Write(Path.Combine(root, "test"), options.PerClass / 2, seed: 1);
        var train = ImageFolder.Load(Path.Combine(root, "train"));
        var test = ImageFolder.Load(Path.Combine(root, "test"));
        output.WriteLine($"{train.Count} training and {test.Count} test images under {root}; classes {string.Join(", ", train.Classes)}");

        var size = options.ImageSize;
        var trainTransform = ImageTransform.Compose(
            ImageTransform.Resize(size * 9 / 8), ImageTransform.CenterCrop(size), ImageTransform.RandomHorizontalFlip(), ImageTransform.ToTensor(), ImageTransform.Normalize(s_mean, s_std));
        var testTransform = ImageTransform.Compose(
            ImageTransform.Resize(size * 9 / 8), ImageTransform.CenterCrop(size), ImageTransform.ToTensor(), ImageTransform.Normalize(s_mean, s_std));
        await using var trainLoader = train.CreateLoader(trainTransform, new LoaderOptions { BatchSize = options.BatchSize, Shuffle = true, Workers = options.Workers, Seed = options.Seed, Name = "images-train" });
        await using var testLoader = test.CreateLoader(testTransform, new LoaderOptions { BatchSize = options.BatchSize, Workers = options.Workers, Name = "images-test" });

        // Conv(3→8) → ReLU → MaxPool → Conv(8→16) → ReLU → MaxPool → Linear(16·(size/4)², 64) → ReLU → Linear(64, classes)
        torch.manual_seed((long)options.Seed);
        using var model = nn.Sequential(
            nn.Conv2d(3, 8, kernel_size: 3, padding: 1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, kernel_size: 3, padding: 1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(16 * (size / 4) * (size / 4), 64), nn.ReLU(),
            nn.Linear(64, train.Classes.Count));
        using var criterion = nn.CrossEntropyLoss();
        using var optimizer = optim.Adam(model.parameters(), options.LearningRate);
        await using var feed = TorchFeed.Create();
        var parameters = model.parameters().Sum(p => p.numel());
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Model: a two-convolution CNN ({parameters:N0} parameters), inputs [{options.BatchSize}, 3, {size}, {size}]"));

        var results = new List<ImageEpoch>();
        for (var epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var fit = await trainLoader.TrainEpochAsync(model, criterion, optimizer, feed, cancellationToken);
            var check = await testLoader.EvaluateEpochAsync(model, criterion, feed, cancellationToken);
            results.Add(new ImageEpoch(epoch, fit.MeanLoss, fit.Accuracy, check.Accuracy));
            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"Epoch {epoch}/{options.Epochs}: train loss {fit.MeanLoss:F4}, train accuracy {fit.Accuracy:F3}, test accuracy {check.Accuracy:F3} ({fit.SamplesPerSecond:N0} images/s, input wait {fit.InputWaitFraction:P0})"));
        }

        return results;
    }
}

/// <summary>The training run's settings.</summary>
public sealed record TrainingOptions
{
    public string? Root { get; init; }

    public int PerClass { get; init; } = 64;

    public int ImageSize { get; init; } = 64;

    public int Epochs { get; init; } = 8;

    public int BatchSize { get; init; } = 32;

    public int Workers { get; init; } = 2;

    public double LearningRate { get; init; } = 3e-3;

    public ulong Seed { get; init; } = 1;
}

/// <summary>One epoch's figures.</summary>
public sealed record ImageEpoch(int Epoch, double TrainLoss, double TrainAccuracy, double TestAccuracy);
