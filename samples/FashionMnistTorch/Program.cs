using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Reactive.Linq;
using StreamingLoader.Datasets;
using StreamingLoader.TorchSharp;
using TorchSharp;
using static TorchSharp.torch;
using StreamingLoader.Batching;
using StreamingLoader.Training;

namespace StreamingLoader.Samples.FashionMnistTorch;

/// <summary>
/// Fashion-MNIST trained with TorchSharp: the loader collates Float32 batches [n, 1, 28, 28] (ToTensor + Normalize)
/// into pinned buffers, <see cref="TorchFeed"/> hands them to libtorch without a copy (on CUDA, copied one batch ahead
/// on a side stream), and TorchSharp's own MLP or two-convolution CNN trains with its Adam or SGD. Test accuracy after
/// every epoch.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (SampleCommandLine.ParseOrExit(() => FashionTorchOptions.Parse(args), o => o.Help, FashionTorchOptions.Usage, out var options) is { } exit)
        {
            return exit;
        }

        try
        {
            await using var metrics = await options.Metrics.StartAsync("FashionMnistTorch", Console.Out);
            await RunAsync(options, Console.Out);
        }
        catch (FileNotFoundException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 1;
        }

        return 0;
    }

    /// <summary>Loads the data, trains and evaluates, writing the log to <paramref name="output"/>.</summary>
    public static async Task<FashionTorchResult> RunAsync(FashionTorchOptions options, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);

        var device = options.Device == "auto" ? null : new Device(options.Device);
        await using var feed = TorchFeed.Create(device);
        // libtorch's intra-op threads go to the training thread, where TrainEpochAsync runs: one OpenMP team.
        TorchThreads.ApplyDefaults(options.Threads);
        output.WriteLine(Invariant($"TorchSharp (libtorch {torch.__version__}) on {feed.Device}, {TorchThreads.IntraOpThreads} intra-op thread(s)"));

        var load = Stopwatch.StartNew();
        var trainData = FashionMnist.Load(options.Root, train: true);
        var testData = FashionMnist.Load(options.Root, train: false);
        output.WriteLine(Invariant($"Loaded {trainData.Count} training and {testData.Count} test images from {options.Root} in {load.Elapsed.TotalSeconds:F2} s"));

        // train_loader = DataLoader(train_data, batch_size=64, shuffle=True), with ToTensor() and Normalize(mean, std)
        // written by the collator straight into the pinned batch buffers.
        var trainOptions = new LoaderOptions { BatchSize = options.BatchSize, Shuffle = true, Seed = options.Seed, Workers = options.Workers, Name = "fashion-train" };
        var testOptions = new LoaderOptions { BatchSize = 1000, Workers = options.Workers, Name = "fashion-test" };
        await using var trainLoader = Pipeline.From(trainData).Build(Collate.BytesToFloat<long>(trainData.FeatureShape, mean: FashionMnist.Mean, std: FashionMnist.Std), trainOptions);
        await using var testLoader = Pipeline.From(testData).Build(Collate.BytesToFloat<long>(testData.FeatureShape, mean: FashionMnist.Mean, std: FashionMnist.Std), testOptions);

        torch.manual_seed((long)options.Seed);
        using var model = CreateModel(options);
        if (options.LoadPath is not null)
        {
            model.load(options.LoadPath);
            output.WriteLine($"Loaded weights from {options.LoadPath}");
        }

        model.to(feed.Device);
        using var criterion = nn.CrossEntropyLoss();
        using var optimizer = options.Optimizer == "sgd"
            ? (optim.Optimizer)optim.SGD(model.parameters(), options.LearningRate, momentum: options.Momentum)
            : optim.Adam(model.parameters(), options.LearningRate);
        var scheduler = optim.lr_scheduler.StepLR(optimizer, step_size: 1, gamma: options.LearningRateDecay);
        var parameters = model.parameters().Sum(p => p.numel());
        output.WriteLine(Invariant($"Model: {options.Model} {Describe(model)} ({parameters:N0} parameters)"));
        output.WriteLine(Invariant($"Optimizer: {options.Optimizer} lr {options.LearningRate}; batches of {options.BatchSize}, {trainLoader.BatchesPerEpoch} steps per epoch, {options.Workers} loader worker(s), fed by {options.Feed}"));

        var epochs = new List<FashionTorchEpoch>();
        var total = Stopwatch.StartNew();
        for (var epoch = 1; epoch <= options.Epochs; epoch++)
        {
            // CPU time beside the wall time: on a shared machine it shows the work done, whatever else ran.
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            var train = await TrainEpochAsync(trainLoader, model, criterion, optimizer, feed, options.Feed, cancellationToken);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
            var test = await testLoader.EvaluateEpochAsync(model, criterion, feed, cancellationToken);
            scheduler.step();
            epochs.Add(new FashionTorchEpoch(epoch, train.MeanLoss, train.Accuracy, test.MeanLoss, test.Accuracy, train.Elapsed, test.Elapsed, train.InputWait));
            output.WriteLine(Invariant(
                $"Epoch {epoch}/{options.Epochs}: train loss {train.MeanLoss:F4}, train accuracy {train.Accuracy:F4}, test loss {test.MeanLoss:F4}, test accuracy {test.Accuracy:F4} ({train.Elapsed.TotalSeconds:F2} s training, {cpu.TotalSeconds:F2} s CPU, {train.SamplesPerSecond:N0} samples/s, input wait {train.InputWaitFraction:P1}; {test.Elapsed.TotalSeconds:F2} s testing)"));
        }

        if (options.SavePath is not null)
        {
            model.save(options.SavePath);
            output.WriteLine($"Saved the weights to {options.SavePath}");
        }

        output.WriteLine(Invariant($"Done in {total.Elapsed.TotalSeconds:F1} s"));
        return new FashionTorchResult(epochs, total.Elapsed, parameters, feed.Device.ToString());
    }

    /// <summary>The MLP 784-hidden-10 or the two-convolution CNN, as a PyTorch tutorial writes them with nn.Sequential.</summary>
    private static nn.Module<Tensor, Tensor> CreateModel(FashionTorchOptions options)
    {
        if (options.Model == "cnn")
        {
            var (c1, c2) = (options.Conv[0], options.Conv[1]);
            return nn.Sequential(
                nn.Conv2d(1, c1, kernel_size: 3, padding: 1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(c1, c2, kernel_size: 3, padding: 1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Flatten(),
                nn.Linear(c2 * 7 * 7, options.CnnHidden), nn.ReLU(),
                nn.Linear(options.CnnHidden, 10));
        }

        var layers = new List<nn.Module<Tensor, Tensor>> { nn.Flatten() };
        var inputs = 28 * 28;
        foreach (var hidden in options.Hidden)
        {
            layers.Add(nn.Linear(inputs, hidden));
            layers.Add(nn.ReLU());
            inputs = hidden;
        }

        layers.Add(nn.Linear(inputs, 10));
        return nn.Sequential(layers);
    }

    /// <summary>The layers, as PyTorch prints their kinds: Flatten → Linear(784, 256) → ReLU → ….</summary>
    private static string Describe(nn.Module model) => string.Join(" → ", model.children().Select(layer => layer switch
    {
        global::TorchSharp.Modules.Linear linear => Invariant($"Linear({linear.in_features}, {linear.out_features})"),
        global::TorchSharp.Modules.Conv2d conv => Invariant($"Conv2d({conv.in_channels}, {conv.out_channels}, 3×3)"),
        _ => layer.GetType().Name,
    }));

    /// <summary>The three ways to consume the loader run the same steps; they differ in who owns each batch.</summary>
    private static async Task<EpochResult> TrainEpochAsync(
        DataLoader loader, nn.Module<Tensor, Tensor> model, nn.Module<Tensor, Tensor, Tensor> criterion, optim.Optimizer optimizer, TorchFeed feed, string how, CancellationToken cancellationToken)
    {
        if (how == "pull")
        {
            // for x, y in train_loader: optimizer.zero_grad(); loss = criterion(model(x), y); loss.backward(); optimizer.step()
            return await loader.TrainEpochAsync(model, criterion, optimizer, feed, cancellationToken);
        }

        var started = Stopwatch.GetTimestamp();
        var steps = 0;
        var samples = 0L;
        var lossSum = 0.0;
        void Step(Batch batch)
        {
            using var staged = feed.Stage(batch);
            using var loss = TorchEpochs.TrainStep(staged, model, criterion, optimizer);
            lossSum += loss.item<float>() * batch.Count;
            steps++;
            samples += batch.Count;
        }

        if (how == "subscribe")
        {
            await loader.ForEachAsync((batch, _) => { Step(batch); return ValueTask.CompletedTask; }, epochs: 1, cancellationToken);
        }
        else
        {
            await loader.AsObservable(epochs: 1).Do(Step).DefaultIfEmpty();
        }

        return new EpochResult(steps, samples, samples == 0 ? 0 : lossSum / samples, 0, Stopwatch.GetElapsedTime(started), TimeSpan.Zero);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>One epoch's results.</summary>
public sealed record FashionTorchEpoch(int Epoch, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy, TimeSpan TrainTime, TimeSpan TestTime, TimeSpan InputWait);

/// <summary>What a run produced.</summary>
public sealed record FashionTorchResult(IReadOnlyList<FashionTorchEpoch> Epochs, TimeSpan Elapsed, long ParameterCount, string Device);

/// <summary>Command-line options.</summary>
public sealed record FashionTorchOptions
{
    public const string Usage = """
        Usage: FashionMnistTorch [--model mlp|cnn] [--hidden 256,128,100] [--conv 32,64] [--cnn-hidden 128]
                                 [--epochs 8] [--batch-size 64] [--optimizer adam|sgd] [--lr 0.001] [--momentum 0.9] [--lr-decay 0.8]
                                 [--device auto|cpu|cuda|cuda:N] [--feed pull|subscribe|observable]
                                 [--workers N] [--threads N] [--seed 0] [--root DIR] [--save FILE] [--load FILE]
          --model M          mlp (784 → hidden layers → 10, ReLU) or cnn (two 3×3 convolutions with 2×2 pooling, a hidden layer, 10)
          --hidden LIST      the MLP's hidden layer sizes (default 256,128,100: the dataset benchmark's "MLP 256-128-100")
          --conv A,B         the CNN's convolution channels (default 32,64)
          --cnn-hidden N     the CNN's hidden layer size (default 128)
          --epochs N         training epochs (default 8)
          --batch-size N     samples per batch (default 64)
          --optimizer O      adam (default) or sgd (with --momentum)
          --lr X             learning rate of the first epoch (default 0.001)
          --momentum X       SGD momentum (default 0.9)
          --lr-decay X       multiplies the learning rate after every epoch, StepLR(step_size=1, gamma=X) (default 0.8; 1 keeps it)
          --device D         auto (CUDA if available, default), cpu, cuda or cuda:N
          --feed F           pull (ReadEpochAsync, default), subscribe (ForEachAsync) or observable (AsObservable)
          --workers N        loader threads (default: processor count)
          --threads N        libtorch intra-op threads of the training thread (default: libtorch's, one per core)
          --seed N           seeds the shuffle order and the initial weights (default 0)
          --root DIR         folder of the IDX files (default /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist)
          --save FILE        save the weights after training
          --load FILE        load weights before training (same model)
        """ + "\n" + SampleMetrics.Usage;

    public string Model { get; init; } = "mlp";

    public IReadOnlyList<int> Hidden { get; init; } = [256, 128, 100];

    public IReadOnlyList<int> Conv { get; init; } = [32, 64];

    public int CnnHidden { get; init; } = 128;

    public int Epochs { get; init; } = 8;

    public int BatchSize { get; init; } = 64;

    public string Optimizer { get; init; } = "adam";

    public double LearningRate { get; init; } = 1e-3;

    public double Momentum { get; init; } = 0.9;

    public double LearningRateDecay { get; init; } = 0.8;

    public string Device { get; init; } = "auto";

    public string Feed { get; init; } = "pull";

    public int Workers { get; init; } = Environment.ProcessorCount;

    public int? Threads { get; init; }

    public ulong Seed { get; init; }

    public string Root { get; init; } = FashionMnist.DefaultRoot;

    public string? SavePath { get; init; }

    public string? LoadPath { get; init; }

    internal SampleMetrics Metrics { get; init; } = SampleMetrics.Default;

    public bool Help { get; init; }

    public static FashionTorchOptions Parse(IReadOnlyList<string> args)
    {
        var d = new FashionTorchOptions();
        var model = SampleCommandLine.OneOf("--model", d.Model, "mlp or cnn.", "mlp", "cnn");
        var hidden = SampleCommandLine.PositiveList("--hidden", [.. d.Hidden], "The MLP's hidden layer sizes, comma-separated.");
        var conv = SampleCommandLine.PositiveList("--conv", [.. d.Conv], "The CNN's two convolutions' channels, like 32,64.");
        var cnnHidden = SampleCommandLine.Positive("--cnn-hidden", d.CnnHidden, "The CNN's hidden layer size.");
        var epochs = SampleCommandLine.Positive("--epochs", d.Epochs, "Epochs to train.");
        var batchSize = SampleCommandLine.Positive("--batch-size", d.BatchSize, "Samples per batch.");
        var optimizer = SampleCommandLine.OneOf("--optimizer", d.Optimizer, "adam or sgd.", "adam", "sgd");
        var lr = SampleCommandLine.Number("--lr", d.LearningRate, "Learning rate.");
        var momentum = SampleCommandLine.Number("--momentum", d.Momentum, "SGD momentum.");
        var lrDecay = SampleCommandLine.Number("--lr-decay", d.LearningRateDecay, "Learning-rate factor after every epoch.");
        var device = SampleCommandLine.Device(d.Device, "auto, cpu, cuda or cuda:N.");
        var feed = SampleCommandLine.OneOf("--feed", d.Feed, "pull, subscribe or observable.", "pull", "subscribe", "observable");
        var workers = SampleCommandLine.Positive("--workers", d.Workers, "Loader threads.");
        var threads = SampleCommandLine.OptionalPositive("--threads", "libtorch intra-op threads.");
        var seed = SampleCommandLine.Number("--seed", d.Seed, "Seeds the shuffle order and the initial weights.");
        var root = SampleCommandLine.Text("--root", d.Root, "The folder of the IDX files.");
        var save = SampleCommandLine.OptionalText("--save", "Save the weights after training.");
        var load = SampleCommandLine.OptionalText("--load", "Load weights before training.");
        var metrics = new SampleMetrics.Options();
        var command = metrics.AddTo(new RootCommand("FashionMnistTorch") { model, hidden, conv, cnnHidden, epochs, batchSize, optimizer, lr, momentum, lrDecay, device, feed, workers, threads, seed, root, save, load });
        var result = SampleCommandLine.Parse(command, args, out var help);
        var options = new FashionTorchOptions
        {
            Model = result.GetValue(model)!,
            Hidden = result.GetValue(hidden)!,
            Conv = result.GetValue(conv)!,
            CnnHidden = result.GetValue(cnnHidden),
            Epochs = result.GetValue(epochs),
            BatchSize = result.GetValue(batchSize),
            Optimizer = result.GetValue(optimizer)!,
            LearningRate = result.GetValue(lr),
            Momentum = result.GetValue(momentum),
            LearningRateDecay = result.GetValue(lrDecay),
            Device = result.GetValue(device)!,
            Feed = result.GetValue(feed)!,
            Workers = result.GetValue(workers),
            Threads = result.GetValue(threads),
            Seed = result.GetValue(seed),
            Root = result.GetValue(root)!,
            SavePath = result.GetValue(save),
            LoadPath = result.GetValue(load),
            Metrics = metrics.Read(result),
            Help = help,
        };

        if (options.Conv.Count != 2)
        {
            throw new ArgumentException("--conv takes two sizes, like 32,64.");
        }

        if (options.LearningRate <= 0 || options.Momentum < 0 || options.LearningRateDecay <= 0)
        {
            throw new ArgumentException("--lr and --lr-decay take positive numbers, --momentum a non-negative one.");
        }

        return options;
    }

    private static string OneOf(string value, string name, params string[] allowed) =>
        allowed.Contains(value, StringComparer.Ordinal) ? value : throw new ArgumentException($"{name} takes {string.Join(" or ", allowed)}; '{value}' is neither.");

}
