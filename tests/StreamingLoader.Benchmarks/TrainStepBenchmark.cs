using System.Diagnostics;
using System.Globalization;
using StreamingLoader.Datasets;
using StreamingLoader.TorchSharp;
using TorchSharp;
using static TorchSharp.torch;
using StreamingLoader.Batching;

namespace StreamingLoader.Benchmarks;

/// <summary>
/// The per-batch training path: a step per batch inside a <see cref="DataLoader.ForEachAsync"/> handler, through
/// <see cref="TorchEpochs.TrainStep(Batch, nn.Module{Tensor, Tensor}, nn.Module{Tensor, Tensor, Tensor}, optim.Optimizer)"/>,
/// against the same step written by hand in the handler (the anchor). Fashion-MNIST, the MLP 784-256-10, batches of
/// 64, Adam; each step timed alone (wrap, zero_grad, forward, loss, backward, step, the loss freed). On a quiet
/// machine and on a busy one: <c>--busy N</c> starts N processes that each burn a core (<c>yes &gt; /dev/null</c>)
/// for the busy half. The paths take the batches in turn (<c>--rounds</c> × <c>--batches</c> steps each), so all see the same load.
/// </summary>
internal static class TrainStepBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var batches = Option(args, "--batches", 300);
        var rounds = Option(args, "--rounds", 4);
        var busy = Option(args, "--busy", 2);
        var passes = Option(args, "--passes", 0);
        var threads = Option(args, "--threads", 0);
        TorchThreads.ApplyDefaults(threads == 0 ? null : threads);
        var data = FashionMnist.Load(train: true);
        var options = new LoaderOptions { BatchSize = 64, Shuffle = true, Seed = 1, Workers = 2, Name = "trainstep-bench" };
        await using var loader = Pipeline.From(data).Build(Collate.BytesToFloat<long>(data.FeatureShape, mean: FashionMnist.Mean, std: FashionMnist.Std), options);

        manual_seed(1);
        using var model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10));
        using var criterion = nn.CrossEntropyLoss();
        using var optimizer = optim.Adam(model.parameters(), 1e-3);
        await using var feed = TorchFeed.Create(CPU);
        var all = new (string Key, string Name, Func<Batch, double> Step)[]
        {
            ("batch", "TrainStep(batch)", batch => Time(() => TorchEpochs.TrainStep(batch, model, criterion, optimizer))),
            ("stage", "Stage + TrainStep", batch => Time(() =>
            {
                using var staged = feed.Stage(batch);
                return TorchEpochs.TrainStep(staged, model, criterion, optimizer);
            })),
            ("hand", "by hand", batch => Time(() => HandWritten(batch, model, criterion, optimizer))),
        };

        // --paths batch,stage: which of ours run beside the hand-written anchor (always last).
        var chosen = (OptionText(args, "--paths") ?? "batch,stage").Split(',');
        var paths = all.Where(path => path.Key == "hand" || chosen.Contains(path.Key)).Select(path => (path.Name, path.Step)).ToArray();

        Console.WriteLine(Invariant($"Per-batch step, Fashion-MNIST MLP 784-256-10, batch 64, Adam; {Environment.ProcessorCount} cores, training thread's intra-op threads {TorchThreads.IntraOpThreads}; {rounds} rounds of {batches} steps per path"));
        Console.WriteLine("machine | path | median ms/step | mean ms/step | ratio of medians (ours / by hand)");

        // Warm-up: the JIT, libtorch's first calls and the OpenMP team, outside the measurement.
        await MeasureAsync(loader, paths.Select(path => path.Step).ToArray(), 50 * paths.Length, paths.Select(_ => new List<double>()).ToArray());

        foreach (var burners in new[] { 0, busy })
        {
            var label = burners == 0 ? "quiet" : Invariant($"busy ({burners} cores burned)");
            using var load = Burner.Start(burners);
            var times = paths.Select(_ => new List<double>()).ToArray();
            for (var round = 0; round < rounds; round++)
            {
                await MeasureAsync(loader, paths.Select(path => path.Step).ToArray(), batches * paths.Length, times);
            }

            if (passes > 0)
            {
                await ComparePassesAsync(loader, model, criterion, optimizer, passes, label);
            }

            var medians = times.Select(Median).ToArray();
            var anchor = paths.Length - 1;
            for (var p = 0; p < paths.Length; p++)
            {
                var ratio = p == anchor ? "" : Invariant($"{medians[p] / medians[anchor]:F2}x");
                Console.WriteLine(Invariant($"{label} | {paths[p].Name} | {medians[p]:F3} | {times[p].Average():F3} | {ratio}"));
            }
        }

        return 0;
    }

    /// <summary>
    /// Whole passes (<c>--passes N</c> rounds): <see cref="TorchEpochs.TrainEpochAsync(DataLoader, nn.Module{Tensor, Tensor}, nn.Module{Tensor, Tensor, Tensor}, optim.Optimizer, TorchFeed?, CancellationToken)"/>
    /// on the training thread with its intra-op threads, against the hand-written step in an <c>await foreach</c> over
    /// the same loader (one intra-op thread): time per step, input waits left out.
    /// </summary>
    private static async Task ComparePassesAsync(DataLoader loader, nn.Module<Tensor, Tensor> model, nn.Module<Tensor, Tensor, Tensor> criterion, optim.Optimizer optimizer, int rounds, string label)
    {
        var ours = new List<double>();
        var hand = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var pass = await loader.TrainEpochAsync(model, criterion, optimizer);
            ours.Add((pass.Elapsed - pass.InputWait).TotalMilliseconds / pass.Batches);
            var total = 0.0;
            var batches = 0;
            await foreach (var batch in loader.ReadEpochAsync())
            {
                using (batch)
                {
                    total += Time(() => HandWritten(batch, model, criterion, optimizer));
                    batches++;
                }
            }

            hand.Add(total / batches);
        }

        Console.WriteLine(Invariant($"{label} | TrainEpochAsync pass | {Median(ours):F3} | {ours.Average():F3} | {Median(ours) / Median(hand):F2}x"));
        Console.WriteLine(Invariant($"{label} | by hand, await foreach | {Median(hand):F3} | {hand.Average():F3} | "));
    }

    /// <summary>The tutorial's step, in the handler: what TrainStep has to be as cheap as.</summary>
    private static Tensor HandWritten(Batch batch, nn.Module<Tensor, Tensor> model, nn.Module<Tensor, Tensor, Tensor> criterion, optim.Optimizer optimizer)
    {
        using var scope = NewDisposeScope();
        var (x, y) = (batch.Features.AsTensor(), batch.Labels.AsTensor());
        model.train();
        optimizer.zero_grad();
        var loss = criterion.call(model.call(x), y);
        loss.backward();
        optimizer.step();
        return loss.detach().MoveToOuterDisposeScope();
    }

    private static double Time(Func<Tensor> step)
    {
        var start = Stopwatch.GetTimestamp();
        step().Dispose();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds;
    }

    /// <summary>Steps <paramref name="count"/> batches, taking the paths in turn batch by batch, so that they share the load.</summary>
    private static async Task MeasureAsync(DataLoader loader, Func<Batch, double>[] steps, int count, List<double>[] times)
    {
        var index = 0;
        await foreach (var batch in loader.ReadBatchesAsync(count))
        {
            using (batch)
            {
                var path = index++ % steps.Length;
                times[path].Add(steps[path](batch));
            }
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static string? OptionText(string[] args, string name)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>Processes that each burn a core until disposed: another tenant of the machine.</summary>
    private sealed class Burner : IDisposable
    {
        private readonly List<Process> _processes = [];

        public static Burner Start(int count)
        {
            var burner = new Burner();
            for (var i = 0; i < count; i++)
            {
                burner._processes.Add(Process.Start(new ProcessStartInfo("sh", ["-c", "exec yes > /dev/null"]))!);
            }

            // Let the scheduler see them before measuring.
            Thread.Sleep(count == 0 ? 0 : 500);
            return burner;
        }

        public void Dispose()
        {
            foreach (var process in _processes)
            {
                process.Kill();
                process.WaitForExit();
                process.Dispose();
            }
        }
    }
}
