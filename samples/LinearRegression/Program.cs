using System.CommandLine;
using System.Globalization;
using StreamingLoader.CpuTraining;
using StreamingLoader.Batching;
using StreamingLoader.Datasets;

namespace StreamingLoader.Samples.LinearRegression;

/// <summary>
/// The seed tutorial's mini-batch linear regression (003): five students' three quiz scores predict the final score;
/// TensorDataset (or a custom dataset class with --custom), DataLoader(batch_size=2, shuffle=True), nn.Linear(3, 1),
/// SGD lr=1e-5, then the prediction for [73, 80, 75]. With --torch the model, the loss and the SGD step run in libtorch
/// (StreamingLoader.TorchSharp) instead of the managed CPU model.
/// </summary>
public static class Program
{
    // x_train and y_train of the tutorial.
    internal static readonly float[][] XTrain = [[73, 80, 75], [93, 88, 93], [89, 91, 90], [96, 98, 100], [73, 66, 70]];
    internal static readonly float[][] YTrain = [[152], [185], [180], [196], [142]];

    public static async Task<int> Main(string[] args)
    {
        if (SampleCommandLine.ParseOrExit(() => LinearRegressionOptions.Parse(args), o => o.Help, LinearRegressionOptions.Usage, out var options) is { } exit)
        {
            return exit;
        }

        await using var metrics = await options.Metrics.StartAsync("LinearRegression", Console.Out);
        await RunAsync(options, Console.Out);
        return 0;
    }

    /// <summary>Trains as the tutorial does, writing its log to <paramref name="output"/>.</summary>
    public static async Task<LinearRegressionResult> RunAsync(LinearRegressionOptions options, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);

        // dataset = TensorDataset(x_train, y_train)   or   dataset = CustomDataset()
        IDataset<Sample<float, float>> dataset = options.Custom
            ? new CustomDataset()
            : new TensorDataset<float, float>([.. XTrain.SelectMany(x => x)], [3], [.. YTrain.SelectMany(y => y)], [1]);

        // dataloader = DataLoader(dataset, batch_size=2, shuffle=True)
        var loaderOptions = new LoaderOptions { BatchSize = 2, Shuffle = true, Seed = options.Seed, Workers = 1, Name = "linear-regression" };
        await using var loader = Pipeline.From(dataset).Build(loaderOptions);

        // model = nn.Linear(3, 1); optimizer = torch.optim.SGD(model.parameters(), lr=1e-5)
        using var torch = options.Torch ? new TorchRegression(options) : null;
        IRegressionModel model = (IRegressionModel?)torch ?? new CpuRegression(CpuModels.LinearRegression(features: 3, outputs: 1, learningRate: options.LearningRate, seed: options.Seed));

        output.WriteLine($"{(options.Custom ? "CustomDataset" : "TensorDataset")}: {dataset.Count} samples, batch size 2, shuffle, {loader.BatchesPerEpoch} batches per epoch, SGD lr {options.LearningRate.ToString("0.##########", CultureInfo.InvariantCulture)}{(torch is null ? string.Empty : $", {torch.Description}")}");
        var phases = new List<PhaseResult>();
        foreach (var nbEpochs in options.Epochs)
        {
            // for epoch in range(nb_epochs + 1): the tutorial's loop runs epochs 0..nb_epochs.
            var lastCost = 0f;
            var skipping = false;
            for (var epoch = 0; epoch <= nbEpochs; epoch++)
            {
                var print = options.ShouldPrint(epoch, nbEpochs);
                if (!print && !skipping)
                {
                    output.WriteLine("...");
                }

                skipping = !print;
                await foreach (var batch in loader.ReadEpochAsync(cancellationToken))
                {
                    using (batch)
                    {
                        // prediction = model(x_train); cost = F.mse_loss(prediction, y_train); zero_grad; backward; step
                        lastCost = model.TrainStep(batch);
                        if (print)
                        {
                            output.WriteLine(string.Create(
                                CultureInfo.InvariantCulture,
                                $"Epoch {epoch,4}/{nbEpochs} Batch {batch.Index + 1}/{loader.BatchesPerEpoch} Cost: {lastCost:F6}"));
                        }
                    }
                }
            }

            phases.Add(new PhaseResult(nbEpochs, lastCost, FullDataMse(model)));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"-- {nbEpochs} epochs done: mean squared error over the 5 samples {phases[^1].FullDataMse:F6}"));
        }

        // new_var = torch.FloatTensor([[73, 80, 75]]); pred_y = model(new_var)
        var prediction = model.Predict([73, 80, 75]);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Prediction for [73, 80, 75] after training: {prediction:F4} (target 152)"));
        return new LinearRegressionResult(prediction, phases);
    }

    /// <summary>The model's MSE over the whole training set, without an update.</summary>
    private static double FullDataMse(IRegressionModel model)
    {
        var sum = 0.0;
        for (var i = 0; i < XTrain.Length; i++)
        {
            var error = (double)model.Predict(XTrain[i]) - YTrain[i][0];
            sum += error * error;
        }

        return sum / XTrain.Length;
    }
}

/// <summary>The sample's model: one SGD step per batch, and a prediction for one sample.</summary>
internal interface IRegressionModel
{
    float TrainStep(Batch batch);

    float Predict(float[] features);
}

/// <summary>The managed CPU model (System.Numerics.Tensors).</summary>
internal sealed class CpuRegression(ICpuModel model) : IRegressionModel
{
    private readonly float[] _prediction = new float[1];

    public float TrainStep(Batch batch) => model.TrainStep(batch);

    public float Predict(float[] features)
    {
        model.Predict(features, _prediction);
        return _prediction[0];
    }
}

/// <summary>
/// The tutorial's <c>CustomDataset(torch.utils.data.Dataset)</c>: <c>__len__</c> is <see cref="Count"/>,
/// <c>__getitem__</c> is <see cref="GetItem"/>. Samples are views of the arrays, so reading one copies nothing.
/// </summary>
internal sealed class CustomDataset : IDataset<Sample<float, float>>
{
    private readonly float[][] _xData = Program.XTrain;
    private readonly float[][] _yData = Program.YTrain;

    public int Count => _xData.Length;

    public Sample<float, float> GetItem(int index) => new(_xData[index], _yData[index]);
}

/// <summary>The cost of the last batch and the full-data MSE after each phase of training.</summary>
public sealed record PhaseResult(int Epochs, float LastCost, double FullDataMse);

/// <summary>What a run produced.</summary>
public sealed record LinearRegressionResult(float Prediction, IReadOnlyList<PhaseResult> Phases);

/// <summary>Command-line options.</summary>
public sealed record LinearRegressionOptions
{
    public const string Usage = """
        Usage: LinearRegression [--custom] [--epochs 20,2000] [--lr 1e-5] [--seed 0] [--log-every 100] [--torch [--device auto]]
          --custom       read the data through a custom IDataset class instead of a TensorDataset
          --torch        train nn.Linear(3, 1) with SGD in libtorch (StreamingLoader.TorchSharp) instead of the managed CPU model
          --device D     with --torch: auto (CUDA if available, default), cpu, cuda or cuda:N
          --epochs LIST  training phases, each continuing the same model (the tutorial ran 20, then 2000);
                         a phase of E epochs runs epochs 0..E like the tutorial's range(nb_epochs + 1)
          --lr X         SGD learning rate (default 1e-5)
          --seed N       seeds the initial weights and the shuffle order (default 0)
          --log-every N  in phases longer than 20 epochs, print epochs 0-8, every N-th and the last two (default 100; 1 prints all)
        """ + "\n" + SampleMetrics.Usage;

    public bool Custom { get; init; }

    public bool Torch { get; init; }

    public string Device { get; init; } = "auto";

    public IReadOnlyList<int> Epochs { get; init; } = [20, 2000];

    public float LearningRate { get; init; } = 1e-5f;

    public ulong Seed { get; init; }

    public int LogEvery { get; init; } = 100;

    internal SampleMetrics Metrics { get; init; } = SampleMetrics.Default;

    public bool Help { get; init; }

    public static LinearRegressionOptions Parse(IReadOnlyList<string> args)
    {
        var defaults = new LinearRegressionOptions();
        var custom = SampleCommandLine.Flag("--custom", "Read the data through a custom IDataset class.");
        var torch = SampleCommandLine.Flag("--torch", "Train nn.Linear(3, 1) with SGD on TorchSharp.");
        var device = SampleCommandLine.Device(defaults.Device, "With --torch: auto, cpu, cuda or cuda:N.");
        var epochs = SampleCommandLine.PositiveList("--epochs", [.. defaults.Epochs], "Training phases, comma-separated.");
        var lr = SampleCommandLine.Number("--lr", defaults.LearningRate, "SGD learning rate.");
        var seed = SampleCommandLine.Number("--seed", defaults.Seed, "Seeds the weights and the shuffle order.");
        var logEvery = SampleCommandLine.Positive("--log-every", defaults.LogEvery, "In long phases, print every N-th epoch.");
        var metrics = new SampleMetrics.Options();
        var result = SampleCommandLine.Parse(metrics.AddTo(new RootCommand("LinearRegression") { custom, torch, device, epochs, lr, seed, logEvery }), args, out var help);
        var options = new LinearRegressionOptions
        {
            Custom = result.GetValue(custom),
            Torch = result.GetValue(torch),
            Device = result.GetValue(device)!,
            Epochs = result.GetValue(epochs)!,
            LearningRate = result.GetValue(lr),
            Seed = result.GetValue(seed),
            LogEvery = result.GetValue(logEvery),
            Metrics = metrics.Read(result),
            Help = help,
        };
        if (options.Device != "auto" && !options.Torch)
        {
            throw new ArgumentException("--device needs --torch.");
        }

        return options;
    }

    internal bool ShouldPrint(int epoch, int nbEpochs) =>
        nbEpochs <= 20 || epoch <= 8 || epoch >= nbEpochs - 1 || epoch % LogEvery == 0;
}
