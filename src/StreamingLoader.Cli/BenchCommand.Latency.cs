using System.CommandLine;
using System.Diagnostics;
using StreamingLoader.Datasets;

namespace StreamingLoader.Cli;

/// <summary>
/// <c>streamingloader bench latency --latency-ms 2</c>: an in-memory dataset whose every read waits (an I/O-bound
/// source such as a network read), where the best number of workers is far above the number of cores.
/// </summary>
internal static partial class BenchCommand
{
    private static Command CreateLatency()
    {
        var latency = new Option<double>("--latency-ms") { Description = "Time each sample's read waits, in ms (without using the CPU).", DefaultValueFactory = _ => 2 };
        var samples = new Option<int>("--samples") { Description = "Samples in the dataset.", DefaultValueFactory = _ => 20_000 };
        var features = new Option<int>("--features") { Description = "Float features per sample.", DefaultValueFactory = _ => 16 };
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 32 };
        var workers = WorkersOption();
        var json = JsonOption();
        var run = new BenchRun();
        var metrics = new MetricsOptions();
        var command = new Command("latency", "In-memory dataset whose reads wait --latency-ms each (I/O-bound: more workers than cores pay), shuffled.") { latency, samples, features, batch, workers, json };
        run.AddTo(command);
        metrics.AddTo(command);
        command.SetAction(async (result, ct) =>
        {
            await using var server = await metrics.StartAsync(result, Console.Error, "streamingloader-bench", ct);
            var dataset = new LatencyDataset(SyntheticTensor(result.GetValue(samples), result.GetValue(features)), result.GetValue(latency));
            var options = run.Apply(result, new LoaderOptions { BatchSize = result.GetValue(batch), Shuffle = true, Workers = result.GetValue(workers), Seed = 1, Name = "bench-latency" });
            await run.RunAsync(result, "latency", result.GetValue(json), () => Pipeline.From(dataset).Build(options), ct);
            return 0;
        });
        return command;
    }

    /// <summary>A dataset whose reads wait <c>latencyMs</c> before returning the sample, as a network read would: the thread sleeps, the CPU is free.</summary>
    private sealed class LatencyDataset(TensorDataset<float, long> inner, double latencyMs) : IDataset<Sample<float, long>>
    {
        public int Count => inner.Count;

        public Sample<float, long> GetItem(int index)
        {
            var until = Stopwatch.GetTimestamp() + (long)(latencyMs * Stopwatch.Frequency / 1000);
            Thread.Sleep((int)latencyMs);
            while (Stopwatch.GetTimestamp() < until)
            {
                Thread.Yield();
            }

            return inner.GetItem(index);
        }
    }
}
