using System.CommandLine;
using System.Globalization;
using System.Text;
using StreamingLoader.CpuTraining;
using StreamingLoader.Datasets;

namespace StreamingLoader.Samples.MiniBatchComparison;

/// <summary>
/// The seed tutorial's experiment (002): X from −5 to 5 in steps of 0.1, Y = −5·X + Gaussian noise, the model
/// y = w·x + b from w = −10, b = −20, trained by SGD with batch size 1 (stochastic gradient descent), 10 and 20
/// (mini-batch gradient descent). The loss over the whole dataset is recorded after every epoch, written as CSV and
/// drawn as an SVG plot.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (SampleCommandLine.ParseOrExit(() => ComparisonOptions.Parse(args), o => o.Help, ComparisonOptions.Usage, out var options) is { } exit)
        {
            return exit;
        }

        await using var metrics = await options.Metrics.StartAsync("MiniBatchComparison", Console.Out);
        await RunAsync(options, Console.Out);
        return 0;
    }

    /// <summary>Runs the comparison, writes <c>losses.csv</c> and <c>losses.svg</c> to the output folder.</summary>
    public static async Task<ComparisonResult> RunAsync(ComparisonOptions options, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);

        // X = torch.arange(-5, 5, 0.1).view(-1, 1); Y = -5 * X + 0.4 * torch.randn(X.size())
        var count = 100;
        var x = new float[count];
        var y = new float[count];
        for (var i = 0; i < count; i++)
        {
            x[i] = -5f + (0.1f * i);
            var noise = new CounterRandom(options.Seed, 0, i).NextGaussian();
            y[i] = (-5f * x[i]) + (float)(options.Noise * noise);
        }

        var dataset = new TensorDataset<float, float>(x, [1], y, [1]);
        var optimum = LeastSquares(x, y);
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{count} points, Y = -5X + {options.Noise}·N(0, 1); least squares: w = {optimum.W:F4}, b = {optimum.B:F4}, MSE = {optimum.Mse:F5}"));
        output.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"SGD lr {options.LearningRate}, {options.Epochs} epochs, start w = -10, b = -20, {(options.Shuffle ? "shuffled" : "in order")}"));

        var runs = new List<RunCurve>();
        foreach (var batchSize in options.BatchSizes)
        {
            runs.Add(await TrainAsync(dataset, batchSize, options, cancellationToken));
        }

        var tail = TailLength(options.Epochs);
        output.WriteLine();
        string[] headers = ["batch size", "updates/epoch", "loss after epoch 1", $"loss after epoch {options.Epochs}", $"mean loss of the last {tail} epochs", "w", "b"];
        output.WriteLine(string.Join(" | ", headers));
        foreach (var run in runs)
        {
            object[] values = [run.BatchSize, run.UpdatesPerEpoch, run.FullLoss[Math.Min(1, options.Epochs)].ToString("F5", CultureInfo.InvariantCulture), run.FullLoss[^1].ToString("F5", CultureInfo.InvariantCulture), run.TailMean.ToString("F5", CultureInfo.InvariantCulture), run.W.ToString("F4", CultureInfo.InvariantCulture), run.B.ToString("F4", CultureInfo.InvariantCulture)];
            output.WriteLine(string.Join(" | ", values.Select((v, i) => Convert.ToString(v, CultureInfo.InvariantCulture)!.PadLeft(headers[i].Length))));
        }

        Directory.CreateDirectory(options.OutputDirectory);
        var csvPath = Path.Combine(options.OutputDirectory, "losses.csv");
        var svgPath = Path.Combine(options.OutputDirectory, "losses.svg");
        await File.WriteAllTextAsync(csvPath, Csv(runs), cancellationToken);
        await File.WriteAllTextAsync(svgPath, LossPlot.Svg(runs, optimum.Mse, options), cancellationToken);
        output.WriteLine();
        output.WriteLine($"Wrote {csvPath} and {svgPath}");
        return new ComparisonResult(runs, optimum.Mse, csvPath, svgPath);
    }

    /// <summary>The last tenth of the epochs (at least one): where the runs have settled.</summary>
    internal static int TailLength(int epochs) => Math.Max(1, epochs / 10);

    private static async Task<RunCurve> TrainAsync(TensorDataset<float, float> dataset, int batchSize, ComparisonOptions options, CancellationToken cancellationToken)
    {
        // trainloader = DataLoader(dataset=dataset, batch_size=batch_size)
        var loaderOptions = new LoaderOptions { BatchSize = batchSize, Shuffle = options.Shuffle, Seed = options.Seed, Workers = 1, Name = $"batch-size-{batchSize}" };
        await using var loader = Pipeline.From(dataset).Build(loaderOptions);

        // w = torch.tensor(-10.0, requires_grad=True); b = torch.tensor(-20.0, requires_grad=True)
        var model = CpuModels.LinearRegression(features: 1, outputs: 1, learningRate: options.LearningRate);
        model.LoadParameters([-10f, -20f]);

        var fullLoss = new double[options.Epochs + 1];
        var meanBatchLoss = new double[options.Epochs + 1];
        fullLoss[0] = FullDataMse(model, dataset);
        meanBatchLoss[0] = double.NaN;
        for (var epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var result = await model.TrainEpochAsync(loader, cancellationToken);
            meanBatchLoss[epoch] = result.MeanLoss;
            fullLoss[epoch] = FullDataMse(model, dataset);
        }

        Span<float> parameters = stackalloc float[2];
        model.CopyParametersTo(parameters);
        var tail = TailLength(options.Epochs);
        return new RunCurve(batchSize, loader.BatchesPerEpoch ?? 0, fullLoss, meanBatchLoss, fullLoss[^tail..].Average(), parameters[0], parameters[1]);
    }

    /// <summary>The loss over the whole dataset (what the tutorial records each epoch), without an update.</summary>
    private static double FullDataMse(ICpuModel model, TensorDataset<float, float> dataset)
    {
        Span<float> prediction = stackalloc float[1];
        var sum = 0.0;
        for (var i = 0; i < dataset.Count; i++)
        {
            var sample = dataset.GetItem(i);
            model.Predict(sample.Features.Span, prediction);
            var error = (double)prediction[0] - sample.Label;
            sum += error * error;
        }

        return sum / dataset.Count;
    }

    /// <summary>The closed-form least-squares line: the lowest loss any w, b can reach on this data.</summary>
    private static (double W, double B, double Mse) LeastSquares(float[] x, float[] y)
    {
        double meanX = x.Average(v => (double)v), meanY = y.Average(v => (double)v);
        double sxy = 0, sxx = 0;
        for (var i = 0; i < x.Length; i++)
        {
            sxy += (x[i] - meanX) * (y[i] - meanY);
            sxx += (x[i] - meanX) * (x[i] - meanX);
        }

        var w = sxy / sxx;
        var b = meanY - (w * meanX);
        var mse = x.Select((v, i) => Math.Pow((w * v) + b - y[i], 2)).Average();
        return (w, b, mse);
    }

    private static string Csv(IReadOnlyList<RunCurve> runs)
    {
        var csv = new StringBuilder("batch_size,epoch,updates,full_data_mse,mean_batch_loss\n");
        foreach (var run in runs)
        {
            for (var epoch = 0; epoch < run.FullLoss.Length; epoch++)
            {
                var meanBatch = double.IsNaN(run.MeanBatchLoss[epoch]) ? string.Empty : run.MeanBatchLoss[epoch].ToString("R", CultureInfo.InvariantCulture);
                csv.Append(CultureInfo.InvariantCulture, $"{run.BatchSize},{epoch},{epoch * run.UpdatesPerEpoch},{run.FullLoss[epoch]:R},{meanBatch}\n");
            }
        }

        return csv.ToString();
    }
}

/// <summary>One batch size's training curve.</summary>
/// <param name="BatchSize">The batch size.</param>
/// <param name="UpdatesPerEpoch">SGD steps per epoch.</param>
/// <param name="FullLoss">The MSE over the whole dataset before training (index 0) and after each epoch.</param>
/// <param name="MeanBatchLoss">The epoch's batch losses averaged over samples (index 0 unused).</param>
/// <param name="TailMean">The mean of <paramref name="FullLoss"/> over the last tenth of the epochs.</param>
/// <param name="W">The final weight.</param>
/// <param name="B">The final bias.</param>
public sealed record RunCurve(int BatchSize, int UpdatesPerEpoch, double[] FullLoss, double[] MeanBatchLoss, double TailMean, float W, float B);

/// <summary>What a run produced.</summary>
public sealed record ComparisonResult(IReadOnlyList<RunCurve> Runs, double LeastSquaresMse, string CsvPath, string SvgPath);

/// <summary>Command-line options.</summary>
public sealed record ComparisonOptions
{
    public const string Usage = """
        Usage: MiniBatchComparison [--out DIR] [--epochs 100] [--batch-sizes 1,10,20] [--lr 0.01] [--noise 0.4] [--seed 0] [--no-shuffle]
          --out DIR          where losses.csv and losses.svg go (default: minibatch-comparison in the temp folder)
          --epochs N         epochs per batch size (default 100)
          --batch-sizes L    batch sizes to compare (default 1,10,20)
          --lr X             SGD learning rate (default 0.01)
          --noise X          standard deviation of the noise on Y (default 0.4)
          --seed N           seeds the noise and the shuffle order (default 0)
          --no-shuffle       read the data in order every epoch, as the tutorial's DataLoader(dataset, batch_size) does
        """ + "\n" + SampleMetrics.Usage;

    public string OutputDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "minibatch-comparison");

    public int Epochs { get; init; } = 100;

    public IReadOnlyList<int> BatchSizes { get; init; } = [1, 10, 20];

    public float LearningRate { get; init; } = 0.01f;

    public double Noise { get; init; } = 0.4;

    public ulong Seed { get; init; }

    public bool Shuffle { get; init; } = true;

    internal SampleMetrics Metrics { get; init; } = SampleMetrics.Default;

    public bool Help { get; init; }

    public static ComparisonOptions Parse(IReadOnlyList<string> args)
    {
        var d = new ComparisonOptions();
        var output = SampleCommandLine.Text("--out", d.OutputDirectory, "Where losses.csv and losses.svg go.");
        var epochs = SampleCommandLine.Positive("--epochs", d.Epochs, "Epochs per batch size.");
        var batchSizes = SampleCommandLine.PositiveList("--batch-sizes", [.. d.BatchSizes], "Batch sizes to compare, comma-separated.");
        var lr = SampleCommandLine.Number("--lr", d.LearningRate, "SGD learning rate.");
        var noise = SampleCommandLine.Number("--noise", d.Noise, "Standard deviation of the noise on Y.");
        var seed = SampleCommandLine.Number("--seed", d.Seed, "Seeds the noise and the shuffle order.");
        var noShuffle = SampleCommandLine.Flag("--no-shuffle", "Read the data in order every epoch.");
        var metrics = new SampleMetrics.Options();
        var result = SampleCommandLine.Parse(metrics.AddTo(new RootCommand("MiniBatchComparison") { output, epochs, batchSizes, lr, noise, seed, noShuffle }), args, out var help);
        return new ComparisonOptions
        {
            OutputDirectory = result.GetValue(output)!,
            Epochs = result.GetValue(epochs),
            BatchSizes = result.GetValue(batchSizes)!,
            LearningRate = result.GetValue(lr),
            Noise = result.GetValue(noise),
            Seed = result.GetValue(seed),
            Shuffle = !result.GetValue(noShuffle),
            Metrics = metrics.Read(result),
            Help = help,
        };
    }
}
