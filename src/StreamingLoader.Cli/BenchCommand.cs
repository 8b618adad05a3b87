using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Text.Json;
using StreamingLoader.Batching;
using StreamingLoader.Datasets;
using StreamingLoader.Sources;
using StreamingLoader.Telemetry;

namespace StreamingLoader.Cli;

/// <summary>
/// <c>streamingloader bench tensor|jsonl</c>: one warm-up epoch, then one timed epoch whose consumer reads every
/// value of every batch; prints one JSON line.
/// </summary>
internal static partial class BenchCommand
{
    public static Command Create()
    {
        var bench = new Command("bench", "Measure loader throughput on a standard workload (one JSON line on standard output).");
        bench.Subcommands.Add(CreateTensor());
        bench.Subcommands.Add(CreateJsonl());
        bench.Subcommands.Add(CreateImages());
        bench.Subcommands.Add(CreateLatency());
        bench.Subcommands.Add(CreateParquet());
        bench.Subcommands.Add(CreateArrow());
        bench.Subcommands.Add(CreateText());
        bench.Subcommands.Add(LiveBenchCommand.CreateTail());
        bench.Subcommands.Add(LiveBenchCommand.CreateCsv());
        bench.Subcommands.Add(TokenizeBenchCommand.Create());
        return bench;
    }

    internal static Option<int> WorkersOption() => BenchRun.WorkersOption();

    internal static Option<int> BatchOption() => new("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 256 };

    internal static Option<bool> JsonOption() => new("--json") { Description = "Print only the JSON result line." };

    private static Command CreateTensor()
    {
        var samples = new Option<int>("--samples") { Description = "Samples in the in-memory dataset.", DefaultValueFactory = _ => 200_000 };
        var features = new Option<int>("--features") { Description = "Float features per sample.", DefaultValueFactory = _ => 64 };
        var batch = BatchOption();
        var workers = WorkersOption();
        var json = JsonOption();
        var metrics = new MetricsOptions();
        var from = new Option<FileInfo?>("--from") { Description = "Load the rows from this tensor.bin (written by bench parquet --generate) instead of random ones." };
        var overhead = new Option<bool>("--metrics-overhead") { Description = "Measure throughput with the metrics endpoint on and off, alternating in one process." };
        var command = new Command("tensor", "In-memory tensor dataset, shuffled.") { samples, features, batch, workers, json, overhead, from };
        var run = new BenchRun();
        run.AddTo(command);
        metrics.AddTo(command);
        command.SetAction(async (result, ct) =>
        {
            if (result.GetValue(overhead))
            {
                var tensors = SyntheticTensor(result.GetValue(samples), result.GetValue(features));
                var opts = new LoaderOptions { BatchSize = result.GetValue(batch), Shuffle = true, Workers = result.GetValue(workers), Seed = 1, Name = "bench-tensor" };
                await MeasureMetricsOverheadAsync(() => Pipeline.From(tensors).Build(opts), ct);
                return 0;
            }

            await using var server = await metrics.StartAsync(result, Console.Error, "streamingloader-bench", ct);
            var n = result.GetValue(samples);
            var f = result.GetValue(features);
            var dataset = result.GetValue(from) is { } file ? LoadTensor(file.FullName) : SyntheticTensor(n, f);
            var options = run.Apply(result, new LoaderOptions { BatchSize = result.GetValue(batch), Shuffle = true, Workers = result.GetValue(workers), Seed = 1, Name = "bench-tensor" });
            await run.RunAsync(result, "tensor", result.GetValue(json), () => Pipeline.From(dataset).Build(options), ct);
            return 0;
        });
        return command;
    }

    private static Command CreateJsonl()
    {
        var data = new Option<DirectoryInfo>("--data") { Description = "Directory holding samples.jsonl.", Required = true };
        var batch = BatchOption();
        var workers = WorkersOption();
        var json = JsonOption();
        var metrics = new MetricsOptions();
        var command = new Command("jsonl", "JSON Lines file DIR/samples.jsonl of {\"x\":[32 floats],\"y\":int}.") { data, batch, workers, json };
        var run = new BenchRun();
        run.AddTo(command);
        metrics.AddTo(command);
        command.SetAction(async (result, ct) =>
        {
            await using var server = await metrics.StartAsync(result, Console.Error, "streamingloader-bench", ct);
            var path = Path.Combine(result.GetValue(data)!.FullName, "samples.jsonl");
            if (!File.Exists(path))
            {
                await Console.Error.WriteLineAsync($"error: {path} does not exist (tests/StreamingLoader.Benchmarks/anchor/make_jsonl.py writes it).").ConfigureAwait(false);
                return 2;
            }

            var options = run.Apply(result, new LoaderOptions { BatchSize = result.GetValue(batch), Workers = result.GetValue(workers), Name = "bench-jsonl" });
            await run.RunAsync(result, "jsonl", result.GetValue(json), () => Pipeline.From(JsonLines.Read(path)).Build(Collate.Json("x", 32, "y"), options), ct);
            return 0;
        });
        return command;
    }

    /// <summary>The rows of a tensor.bin: int32 rows, int32 features, the features row by row, then the int64 labels.</summary>
    private static TensorDataset<float, long> LoadTensor(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> header = stackalloc byte[8];
        file.ReadExactly(header);
        var rows = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(header);
        var features = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        var x = new float[(long)rows * features];
        var y = new long[rows];
        file.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()));
        file.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(y.AsSpan()));
        return new TensorDataset<float, long>(x, [features], y);
    }

    internal static TensorDataset<float, long> SyntheticTensor(int samples, int features)
    {
        var x = new float[(long)samples * features];
        var y = new long[samples];
        var random = new CounterRandom(7, 0, 0);
        for (var i = 0; i < x.Length; i++)
        {
            x[i] = random.NextSingle();
        }

        for (var i = 0; i < y.Length; i++)
        {
            y[i] = random.NextInt32(10);
        }

        return new TensorDataset<float, long>(x, [features], y);
    }

    private const int TimedRuns = 5;

    /// <summary>
    /// Alternates blocks of epochs with the Prometheus endpoint (OpenTelemetry collecting, one scrape per block) and
    /// without it, in one process so that both see the same code and memory, in on/off/off/on order so that a steady
    /// drift of the machine's speed cancels. Each round pairs one block of each; prints the median of the per-round
    /// overheads with a bootstrap 95 % confidence interval, and the medians of all epochs, as JSON.
    /// </summary>
    private static async Task MeasureMetricsOverheadAsync(Func<DataLoader> build, CancellationToken cancellationToken)
    {
        await using (var warm = build())
        {
            var warmStart = Stopwatch.GetTimestamp();
            for (var epoch = 0; epoch < 3 || Stopwatch.GetElapsedTime(warmStart) < TimeSpan.FromSeconds(1); epoch++)
            {
                await ConsumeEpochAsync(warm, cancellationToken);
            }
        }

        const int rounds = 10;
        var on = new List<double>();
        var off = new List<double>();
        var overheads = new List<double>();
        using var http = new HttpClient();
        for (var round = 0; round < rounds; round++)
        {
            // Even rounds on then off, odd rounds off then on: on/off/off/on/on/off...
            for (var block = 0; block < 2; block++)
            {
                if ((block == 0) == (round % 2 == 0))
                {
                    await using var server = await Prometheus.PrometheusMetricsServer.StartAsync(new Prometheus.MetricsServerOptions { Port = 0 }, cancellationToken);
                    await TimeEpochsAsync(build, on, cancellationToken);
                    _ = await http.GetStringAsync(server.Uri, cancellationToken);
                }
                else
                {
                    await TimeEpochsAsync(build, off, cancellationToken);
                }
            }

            var (roundOn, roundOff) = (Median(on[^TimedRuns..]), Median(off[^TimedRuns..]));
            overheads.Add((1 - (roundOn / roundOff)) * 100);
            await Console.Error.WriteLineAsync(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"round {round} ({(round % 2 == 0 ? "on, off" : "off, on")}): on {roundOn / 1e6:F1}M, off {roundOff / 1e6:F1}M samples/s, overhead {overheads[^1]:F1} %"));
        }

        // Bootstrap the median of the per-round overheads (seeded: the same rounds give the same interval).
        var random = new Random(7);
        var medians = Enumerable.Range(0, 2000)
            .Select(_ => Median([.. Enumerable.Range(0, rounds).Select(_ => overheads[random.Next(rounds)])]))
            .Order()
            .ToList();
        Console.WriteLine(string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $"{{\"workload\":\"tensor\",\"order\":\"on/off/off/on\",\"rounds\":{rounds},\"epochs_each\":{on.Count},\"metrics_on_samples_per_s\":{Median(on):F0},\"metrics_off_samples_per_s\":{Median(off):F0},\"overhead_pct\":{Median(overheads):F2},\"overhead_ci95_pct\":[{medians[50]:F2},{medians[1949]:F2}],\"overhead_min_pct\":{overheads.Min():F2},\"overhead_max_pct\":{overheads.Max():F2}}}"));

        static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
    }

    private static async Task TimeEpochsAsync(Func<DataLoader> build, List<double> samplesPerSecond, CancellationToken cancellationToken)
    {
        for (var run = 0; run < TimedRuns; run++)
        {
            await using var loader = build();
            var start = Stopwatch.GetTimestamp();
            var (count, _, _) = await ConsumeEpochAsync(loader, cancellationToken);
            samplesPerSecond.Add(count / Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
    }

    internal static async Task<BenchFigures> RunAsync(string workload, Func<DataLoader> build, CancellationToken cancellationToken, double stepMs = 0, int? serverPid = null)
    {
        int workersOf;
        DataLoader? tuned = null;
        // Warm-up on a loader of its own: page cache, and long enough (≥ 3 epochs and ≥ 1 s) for tiered compilation
        // to replace the first, unoptimized code with optimized code, as in any training run after its first seconds.
        // An autotuned loader is kept for the timed epochs: it tunes while it runs, and a new one would start over.
        var warm = build();
        try
        {
            workersOf = warm.Options.Workers;
            var warmStart = Stopwatch.GetTimestamp();
            for (var epoch = 0; epoch < 3 || Stopwatch.GetElapsedTime(warmStart) < TimeSpan.FromSeconds(1); epoch++)
            {
                await ConsumeEpochAsync(warm, cancellationToken, stepMs).ConfigureAwait(false);
            }

            if (warm.Options.Workers == LoaderOptions.Auto || warm.Options.Prefetch == LoaderOptions.Auto)
            {
                (tuned, warm) = (warm, null!);
                await Console.Error.WriteLineAsync($"after warm-up: {tuned.Autotune}").ConfigureAwait(false);
            }
        }
        finally
        {
            if (warm is not null)
            {
                await warm.DisposeAsync().ConfigureAwait(false);
            }
        }

        await using var keep = tuned;

        // Timed: five epochs, each the first of a new loader (so each includes the loader's start and its first
        // batch); the median is reported, since one 20 ms epoch on a shared 2-core machine is at the mercy of the
        // scheduler.
        var runs = new List<(long Samples, double Seconds, TimeSpan FirstBatch, double Checksum, double Cpu, double? ServerCpu)>();
        PipelineProfile? profile = null;
        for (var run = 0; run < TimedRuns; run++)
        {
            var loader = tuned ?? build();
            try
            {
                using var profiler = PipelineProfiler.Start(loader.Options.Name);
                var serverStart = BenchCpu.OfProcess(serverPid);
                var cpuStart = Environment.CpuUsage.TotalTime;
                var start = Stopwatch.GetTimestamp();
                var (count, first, sum) = await ConsumeEpochAsync(loader, cancellationToken, stepMs).ConfigureAwait(false);
                var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
                var cpu = (Environment.CpuUsage.TotalTime - cpuStart).TotalSeconds;
                runs.Add((count, elapsed, first, sum, cpu, BenchCpu.OfProcess(serverPid) - serverStart));
                profile ??= profiler.Snapshot();
            }
            finally
            {
                if (tuned is null)
                {
                    await loader.DisposeAsync().ConfigureAwait(false);
                }
            }
        }

        if (tuned?.Autotune is { } status)
        {
            workersOf = status.Workers;
            await Console.Error.WriteLineAsync(status.ToString()).ConfigureAwait(false);
        }

        await Console.Error.WriteLineAsync($"epochs (s): {string.Join(", ", runs.Select(r => r.Seconds.ToString("F4", System.Globalization.CultureInfo.InvariantCulture)))}").ConfigureAwait(false);
        await Console.Error.WriteLineAsync($"epoch CPU (s), this process: {string.Join(", ", runs.Select(r => r.Cpu.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)))}").ConfigureAwait(false);
        if (serverPid is { } pid)
        {
            await Console.Error.WriteLineAsync($"epoch CPU (s), server (pid {pid}): {string.Join(", ", runs.Select(r => r.ServerCpu?.ToString("F2", System.Globalization.CultureInfo.InvariantCulture) ?? "?"))}").ConfigureAwait(false);
        }

        await Console.Error.WriteLineAsync($"bottleneck: {profile}").ConfigureAwait(false);
        var median = runs.OrderBy(r => r.Seconds).ElementAt(runs.Count / 2);
        var (samples, seconds, firstBatch, checksum, _, _) = median;
        using var process = Process.GetCurrentProcess();
        return new BenchFigures(workload, samples, seconds, samples / seconds, firstBatch.TotalMilliseconds, process.PeakWorkingSet64 / (1024.0 * 1024.0), workersOf, checksum)
        {
            PaddingFraction = profile is { SequenceSteps: > 0 } ? Math.Round(profile.PaddingFraction, 5) : null,
            CpuS = Math.Round(Median(runs.Select(r => r.Cpu)), 4),
            ServerCpuS = serverPid is null ? null : Math.Round(Median(runs.Select(r => r.ServerCpu ?? double.NaN)), 3),
        };
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }

    /// <summary>Reads every value of every batch (a checksum), so the benchmark cannot skip work.</summary>
    private static async Task<(long Samples, TimeSpan FirstBatch, double Checksum)> ConsumeEpochAsync(DataLoader loader, CancellationToken cancellationToken, double stepMs = 0)
    {
        long samples = 0;
        double checksum = 0;
        var start = Stopwatch.GetTimestamp();
        var firstBatch = TimeSpan.Zero;
        await foreach (var batch in loader.ReadEpochAsync(cancellationToken).ConfigureAwait(false))
        {
            using (batch)
            {
                if (samples == 0)
                {
                    firstBatch = Stopwatch.GetElapsedTime(start);
                }

                checksum += Checksum(batch);
                samples += batch.Count;
                if (stepMs > 0)
                {
                    Thread.Sleep(TimeSpan.FromMilliseconds(stepMs));
                }
            }
        }

        return (samples, firstBatch, checksum);
    }

    /// <summary>The sum of every Float32 and Int64 tensor of the batch (features and labels, or input ids, mask and labels).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal static double Checksum(Batch batch)
    {
        double sum = 0;
        foreach (var tensor in batch.Tensors)
        {
            sum += tensor.ElementType switch
            {
                ElementType.Float32 => (double)TensorPrimitives.Sum<float>(tensor.AsSpan<float>()),
                ElementType.Int64 => (double)TensorPrimitives.Sum<long>(tensor.AsSpan<long>()),
                _ => 0d,
            };
        }

        return sum;
    }

    internal static void Report(BenchFigures figures, bool jsonOnly)
    {
        var line = JsonSerializer.Serialize(figures, BenchJson.Default.BenchFigures);
        if (!jsonOnly)
        {
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"{figures.Workload}: {figures.Samples:N0} samples in {figures.Seconds:F3} s = {figures.SamplesPerS / 1e6:F2}M samples/s; first batch {figures.FirstBatchMs:F2} ms; peak RSS {figures.PeakRssMb:F0} MB; {figures.Workers} workers{(figures.PaddingFraction is { } padding ? $"; padding {padding:P1}" : "")}"));
        }

        Console.WriteLine(line);
    }
}

internal sealed record BenchFigures(
    string Workload,
    long Samples,
    double Seconds,
    double SamplesPerS,
    double FirstBatchMs,
    double PeakRssMb,
    int Workers,
    double Checksum)
{
    /// <summary>Gets the share of variable-length steps delivered as padding; null for workloads without them.</summary>
    public double? PaddingFraction { get; init; }

    /// <summary>Gets the CPU seconds this process spent in a timed epoch (the median over the timed epochs).</summary>
    public double? CpuS { get; init; }

    /// <summary>Gets the CPU seconds the server process (<c>--server-pid</c>) spent in a timed epoch (the median); null without one.</summary>
    public double? ServerCpuS { get; init; }
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(
    PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
[System.Text.Json.Serialization.JsonSerializable(typeof(BenchFigures))]
internal sealed partial class BenchJson : System.Text.Json.Serialization.JsonSerializerContext;
