using System.CommandLine;
using System.Diagnostics;
using Spectre.Console;
using StreamingLoader.CpuTraining;
using StreamingLoader.Datasets;
using StreamingLoader.Telemetry;
using StreamingLoader.Training;

namespace StreamingLoader.Cli;

/// <summary>
/// <c>streamingloader demo</c>: a synthetic classification dataset in memory → parallel augmentation → shuffle →
/// batches → a softmax regression trained on the CPU, with live progress and a summary.
/// </summary>
internal static class DemoCommand
{
    private const int Classes = 10;

    public static Command Create()
    {
        var epochs = new Option<int>("--epochs") { Description = "Epochs to train.", DefaultValueFactory = _ => 8 };
        var samples = new Option<int>("--samples") { Description = "Training samples (a fifth more are held out for testing).", DefaultValueFactory = _ => 400_000 };
        var features = new Option<int>("--features") { Description = "Features per sample.", DefaultValueFactory = _ => 32 };
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 128 };
        var workers = BenchRun.WorkersOption();
        var seed = new Option<ulong>("--seed") { Description = "Seed of every random decision.", DefaultValueFactory = _ => 42 };
        var delay = new Option<double>("--transform-delay")
        {
            Description = "Milliseconds each sample's transform waits, as a remote fetch would: watch the bottleneck verdict point at the transform.",
            DefaultValueFactory = _ => 0,
        };
        delay.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double>() is < 0 or > 10_000)
            {
                r.AddError("--transform-delay takes 0 to 10000 milliseconds.");
            }
        });
        var metrics = new MetricsOptions();
        var command = new Command("demo", "Train a softmax regression on a synthetic dataset through the whole pipeline (needs only the .NET SDK).")
        {
            epochs, samples, features, batch, workers, seed, delay,
        };
        metrics.AddTo(command);
        command.SetAction(async (result, ct) =>
        {
            await using var server = await metrics.StartAsync(result, Console.Out, "streamingloader-demo", ct);
            return await RunAsync(result.GetValue(epochs), result.GetValue(samples), result.GetValue(features), result.GetValue(batch), result.GetValue(workers), result.GetValue(seed), TimeSpan.FromMilliseconds(result.GetValue(delay)), ct);
        });
        return command;
    }

    private static async Task<int> RunAsync(int epochs, int samples, int features, int batchSize, int workers, ulong seed, TimeSpan transformDelay, CancellationToken cancellationToken)
    {
        var (train, test) = SyntheticClassification(samples, samples / 5, features, seed);
        var options = new LoaderOptions { BatchSize = batchSize, Shuffle = true, Workers = workers, Prefetch = workers == LoaderOptions.Auto ? LoaderOptions.Auto : 4, Seed = seed, Name = "demo" };
        using var profiler = PipelineProfiler.Start(options.Name);

        // Augmentation on the workers: Gaussian jitter keyed on (seed, epoch, index), the same whatever the thread.
        await using var loader = Pipeline.From(train)
            .Transform((sample, context) =>
            {
                if (transformDelay > TimeSpan.Zero)
                {
                    Thread.Sleep(transformDelay);
                }

                var random = context.Random();
                var x = sample.Features.ToArray();
                for (var i = 0; i < x.Length; i++)
                {
                    x[i] += 0.1f * (float)random.NextGaussian();
                }

                return new Sample<float, long>(x, sample.Label);
            })
            .Build(options);
        await using var testLoader = Pipeline.From(test).Build(new LoaderOptions { BatchSize = 1024, Workers = workers, Name = "demo-test" });
        var model = CpuModels.SoftmaxRegression(features, Classes, learningRate: 0.02f, seed);

        AnsiConsole.MarkupLine($"[bold]StreamingLoader demo[/]: {samples:N0} samples × {features} features, {Classes} classes; batch {batchSize}, {(workers == LoaderOptions.Auto ? "autotuned" : workers.ToString(System.Globalization.CultureInfo.InvariantCulture))} workers, shuffled, augmented");
        var table = new Table().AddColumns("epoch", "loss", "test accuracy", "samples/s", "epoch time");
        var untrained = await model.EvaluateAsync(testLoader, cancellationToken);
        table.AddRow("0 (untrained)", $"{untrained.MeanLoss:F4}", $"{untrained.Accuracy:P2}", "", "");
        var total = Stopwatch.StartNew();
        var results = new List<(EpochResult Train, EpochResult Test)>();
        for (var epoch = 1; epoch <= epochs; epoch++)
        {
            var trained = await TrainWithProgressAsync(model, loader, epoch, epochs, cancellationToken);
            var evaluated = await model.EvaluateAsync(testLoader, cancellationToken);
            results.Add((trained, evaluated));
            table.AddRow($"{epoch}", $"{trained.MeanLoss:F4}", $"{evaluated.Accuracy:P2}", $"{trained.SamplesPerSecond:N0}", $"{trained.Elapsed.TotalSeconds:F2} s");
        }

        AnsiConsole.Write(table);
        var profile = profiler.Snapshot();
        AnsiConsole.MarkupLine($"trained {epochs} epochs in {total.Elapsed.TotalSeconds:F1} s; final test accuracy [bold]{results[^1].Test.Accuracy:P2}[/] (chance is {1.0 / Classes:P0})");
        // The same rule as the dashboard's verdict panel (dashboards/README.md, "Finding the bottleneck").
        Console.WriteLine($"bottleneck: {profile}");
        return results[^1].Test.Accuracy > 1.5 / Classes ? 0 : 1;
    }

    private static async Task<EpochResult> TrainWithProgressAsync(ICpuModel model, DataLoader loader, int epoch, int epochs, CancellationToken cancellationToken)
    {
        var batches = loader.BatchesPerEpoch ?? 0;
        if (!AnsiConsole.Profile.Capabilities.Interactive)
        {
            var plain = await model.TrainEpochAsync(loader, cancellationToken);
            Console.WriteLine($"epoch {epoch}/{epochs}: loss {plain.MeanLoss:F4}, {plain.SamplesPerSecond:N0} samples/s");
            if (loader.Autotune is { } tuned)
            {
                Console.WriteLine($"  {tuned}");
            }

            return plain;
        }

        EpochResult? result = null;
        await AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask($"epoch {epoch}/{epochs}", maxValue: batches);
                var watch = Stopwatch.StartNew();
                long seen = 0;
                result = await model.TrainEpochAsync(
                    loader,
                    (batch, loss) =>
                    {
                        seen += batch.Count;
                        var tuned = loader.Autotune is { } status ? $"  {status.Workers} workers, prefetch {status.Prefetch} ({status.Reason})" : "";
                        task.Description = Markup.Escape($"epoch {epoch}/{epochs}  loss {loss:F4}  {seen / Math.Max(watch.Elapsed.TotalSeconds, 1e-9):N0} samples/s{tuned}");
                        task.Increment(1);
                    },
                    cancellationToken);
            });
        return result!;
    }

    /// <summary>Gaussian blobs: each class a random centre; samples are centre + unit noise.</summary>
    private static (TensorDataset<float, long> Train, TensorDataset<float, long> Test) SyntheticClassification(int trainCount, int testCount, int features, ulong seed)
    {
        var random = new CounterRandom(seed, 0, 0);
        var centres = new float[Classes * features];
        for (var i = 0; i < centres.Length; i++)
        {
            centres[i] = (float)(random.NextGaussian() * 0.45);
        }

        TensorDataset<float, long> Make(int count, long stream)
        {
            var r = new CounterRandom(seed, 0, stream);
            var x = new float[count * features];
            var y = new long[count];
            for (var i = 0; i < count; i++)
            {
                var label = r.NextInt32(Classes);
                y[i] = label;
                for (var j = 0; j < features; j++)
                {
                    x[(i * features) + j] = centres[(label * features) + j] + (float)r.NextGaussian();
                }
            }

            return new TensorDataset<float, long>(x, [features], y);
        }

        return (Make(trainCount, 1), Make(testCount, 2));
    }
}
