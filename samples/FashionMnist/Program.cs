using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using StreamingLoader.CpuTraining;
using StreamingLoader.Datasets;
using StreamingLoader.Batching;

namespace StreamingLoader.Samples.FashionMnistTraining;

/// <summary>
/// The seed tutorial's Fashion-MNIST loader (000): <c>DataLoader(train_data, batch_size=32, shuffle=True)</c>, a look
/// at the first batch with <c>next(iter(train_dataloader))</c> ([32, 1, 28, 28] and [32]), then softmax regression
/// trained on the CPU, with the test accuracy after every epoch.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (SampleCommandLine.ParseOrExit(() => FashionOptions.Parse(args), o => o.Help, FashionOptions.Usage, out var options) is { } exit)
        {
            return exit;
        }

        try
        {
            await using var metrics = await options.Metrics.StartAsync("FashionMnist", Console.Out);
        await RunAsync(options, Console.Out);
        }
        catch (FileNotFoundException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 1;
        }

        return 0;
    }

    /// <summary>Loads the data, shows the first batch, trains and evaluates, writing the log to <paramref name="output"/>.</summary>
    public static async Task<FashionResult> RunAsync(FashionOptions options, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);

        // train_data = datasets.FashionMNIST(root, train=True, transform=ToTensor()); test_data likewise with train=False
        var load = Stopwatch.StartNew();
        var trainData = FashionMnist.Load(options.Root, train: true);
        var testData = FashionMnist.Load(options.Root, train: false);
        output.WriteLine(Invariant($"Loaded {trainData.Count} training and {testData.Count} test images from {options.Root} in {load.Elapsed.TotalSeconds:F2} s"));

        // ToTensor() then Normalize(mean, std), done by the collator as it writes each image into the batch.
        var (mean, std) = options.Normalize ? (FashionMnist.Mean, FashionMnist.Std) : (0f, 1f);

        // train_dataloader = DataLoader(train_data, batch_size=32, shuffle=True); test_dataloader: no shuffle
        var trainOptions = new LoaderOptions { BatchSize = options.BatchSize, Shuffle = true, Seed = options.Seed, Workers = options.Workers, Name = "fashion-train" };
        var testOptions = new LoaderOptions { BatchSize = 1000, Workers = options.Workers, Name = "fashion-test" };
        await using var trainLoader = Pipeline.From(trainData).Build(Collate.BytesToFloat<long>(trainData.FeatureShape, mean: mean, std: std), trainOptions);
        await using var testLoader = Pipeline.From(testData).Build(Collate.BytesToFloat<long>(testData.FeatureShape, mean: mean, std: std), testOptions);

        // train_features_batch, train_labels_batch = next(iter(train_dataloader))
        await using (var batches = trainLoader.ReadEpochAsync(cancellationToken).GetAsyncEnumerator(cancellationToken))
        {
            if (await batches.MoveNextAsync())
            {
                using var first = batches.Current;
                output.WriteLine($"Feature batch shape: {Format(first.Features.Shape)} {first.Features.ElementType}");
                output.WriteLine($"Labels batch shape: {Format(first.Labels.Shape)} {first.Labels.ElementType}");
                var label = first.Labels.AsSpan<long>()[0];
                output.WriteLine(Invariant($"First sample: {FashionMnist.ClassNames[(int)label]} (label {label}), pixel mean {first.Features.Sample<float>(0).ToArray().Average():F3}"));
            }
        }

        // Leaving that epoch early is allowed: the next read starts a new epoch, as a new iter(loader) does.
        ICpuModel model = options.Hidden.Count == 0
            ? CpuModels.SoftmaxRegression(features: 28 * 28, classes: 10, learningRate: options.LearningRate, seed: options.Seed)
            : CpuModels.Mlp([28 * 28, .. options.Hidden, 10], options.LearningRate, options.Seed);
        output.WriteLine($"Training {model} on batches of {options.BatchSize}, {trainLoader.BatchesPerEpoch} steps per epoch, {options.Workers} loader workers");

        var epochs = new List<FashionEpoch>();
        var total = Stopwatch.StartNew();
        for (var epoch = 1; epoch <= options.Epochs; epoch++)
        {
            // StepLR(step_size=1, gamma): smaller steps as the model settles, so SGD's noise stops costing accuracy.
            model.LearningRate = options.LearningRate * MathF.Pow(options.LearningRateDecay, epoch - 1);
            var train = await model.TrainEpochAsync(trainLoader, cancellationToken);
            var test = await model.EvaluateAsync(testLoader, cancellationToken);
            epochs.Add(new FashionEpoch(epoch, train.MeanLoss, test.MeanLoss, test.Accuracy, train.Elapsed + test.Elapsed));
            output.WriteLine(Invariant(
                $"Epoch {epoch}/{options.Epochs}: train loss {train.MeanLoss:F4}, test loss {test.MeanLoss:F4}, test accuracy {test.Accuracy:F4} ({train.Elapsed.TotalSeconds:F2} s training, {train.SamplesPerSecond:N0} samples/s; {test.Elapsed.TotalSeconds:F2} s testing)"));
        }

        output.WriteLine(Invariant($"Done in {total.Elapsed.TotalSeconds:F1} s"));
        return new FashionResult(epochs, total.Elapsed);
    }

    private static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>One epoch's training loss and test results.</summary>
public sealed record FashionEpoch(int Epoch, double TrainLoss, double TestLoss, double TestAccuracy, TimeSpan Elapsed);

/// <summary>What a run produced.</summary>
public sealed record FashionResult(IReadOnlyList<FashionEpoch> Epochs, TimeSpan Elapsed);

/// <summary>Command-line options.</summary>
public sealed record FashionOptions
{
    public const string Usage = """
        Usage: FashionMnist [--epochs 5] [--batch-size 32] [--lr 0.05] [--lr-decay 0.5] [--seed 0] [--workers N] [--root DIR] [--hidden 128,...] [--no-normalize]
          --epochs N        training epochs (default 5)
          --batch-size N    samples per batch (default 32, as in the tutorial)
          --lr X            SGD learning rate of the first epoch (default 0.05)
          --lr-decay X      multiplies the learning rate after every epoch, as StepLR(step_size=1, gamma=X) (default 0.5; 1 keeps it)
          --seed N          seeds the shuffle order and the initial weights (default 0)
          --workers N       loader threads (default: processor count)
          --root DIR        folder of the IDX files (default /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist)
          --hidden LIST     train an MLP with these hidden layer sizes instead of softmax regression
          --no-normalize    pixels in [0, 1] only (ToTensor), without Normalize(mean, std)
        """ + "\n" + SampleMetrics.Usage;

    public int Epochs { get; init; } = 5;

    public int BatchSize { get; init; } = 32;

    public float LearningRate { get; init; } = 0.05f;

    public float LearningRateDecay { get; init; } = 0.5f;

    public ulong Seed { get; init; }

    public int Workers { get; init; } = Environment.ProcessorCount;

    public string Root { get; init; } = FashionMnist.DefaultRoot;

    public IReadOnlyList<int> Hidden { get; init; } = [];

    public bool Normalize { get; init; } = true;

    internal SampleMetrics Metrics { get; init; } = SampleMetrics.Default;

    public bool Help { get; init; }

    public static FashionOptions Parse(IReadOnlyList<string> args)
    {
        var d = new FashionOptions();
        var epochs = SampleCommandLine.Positive("--epochs", d.Epochs, "Epochs to train.");
        var batchSize = SampleCommandLine.Positive("--batch-size", d.BatchSize, "Samples per batch.");
        var lr = SampleCommandLine.Number("--lr", d.LearningRate, "SGD learning rate.");
        var lrDecay = SampleCommandLine.Number("--lr-decay", d.LearningRateDecay, "Learning-rate factor after every epoch.");
        var seed = SampleCommandLine.Number("--seed", d.Seed, "Seeds the weights and the shuffle order.");
        var workers = SampleCommandLine.Positive("--workers", d.Workers, "Loader worker threads.");
        var root = SampleCommandLine.Text("--root", d.Root, "The folder of the IDX files.");
        var hidden = SampleCommandLine.PositiveList("--hidden", [.. d.Hidden], "Hidden layer sizes, comma-separated (an MLP).");
        var noNormalize = SampleCommandLine.Flag("--no-normalize", "Scale pixels to [0, 1] only.");
        var metrics = new SampleMetrics.Options();
        var result = SampleCommandLine.Parse(metrics.AddTo(new RootCommand("FashionMnist") { epochs, batchSize, lr, lrDecay, seed, workers, root, hidden, noNormalize }), args, out var help);
        return new FashionOptions
        {
            Epochs = result.GetValue(epochs),
            BatchSize = result.GetValue(batchSize),
            LearningRate = result.GetValue(lr),
            LearningRateDecay = result.GetValue(lrDecay),
            Seed = result.GetValue(seed),
            Workers = result.GetValue(workers),
            Root = result.GetValue(root)!,
            Hidden = result.GetValue(hidden)!,
            Normalize = !result.GetValue(noNormalize),
            Metrics = metrics.Read(result),
            Help = help,
        };
    }
}
