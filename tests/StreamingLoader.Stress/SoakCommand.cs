using System.CommandLine;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using StreamingLoader.Datasets;
using StreamingLoader.Telemetry;

namespace StreamingLoader.Stress;

/// <summary>
/// <c>soak</c>: a consumer ten or more times slower than the loader, for minutes, epoch after epoch.
/// Prints resident memory and pool leases as it goes, and at the end whether memory stayed flat (within 10 % of its
/// level after the first minute) and leases stayed within the pool size.
/// </summary>
internal static class SoakCommand
{
    public static Command Create()
    {
        var minutes = new Option<double>("--minutes") { Description = "How long to run.", DefaultValueFactory = _ => 10 };
        var stepMs = new Option<int>("--step-ms") { Description = "The consumer's time per batch.", DefaultValueFactory = _ => 2 };
        var command = new Command("soak", "A slow consumer for minutes: resident memory and pool leases over time.") { minutes, stepMs };
        command.SetAction(async (result, ct) => await RunAsync(TimeSpan.FromMinutes(result.GetValue(minutes)), result.GetValue(stepMs), ct).ConfigureAwait(false));
        return command;
    }

    private static async Task<int> RunAsync(TimeSpan duration, int stepMs, CancellationToken cancellationToken)
    {
        const int Samples = 100_000, Features = 64;
        var random = new Random(1);
        var features = new float[Samples * Features];
        random.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(features.AsSpan()));
        var labels = new long[Samples];
        var options = new LoaderOptions { BatchSize = 256, Shuffle = true, Workers = 2, Seed = 1, Name = "soak" };
        await using var loader = Pipeline.From(new TensorDataset<float, long>(features, [Features], labels)).Build(options);

        long leases = 0, maxLeases = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == LoaderMetrics.MeterName && instrument.Name == "streamingloader.pool.leases")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => leases = value);
        listener.SetMeasurementEventCallback<int>((_, value, _, _) => leases = value);
        listener.Start();

        var allocatedAtStart = GC.GetTotalAllocatedBytes();
        var clock = Stopwatch.StartNew();
        var nextReport = TimeSpan.Zero;
        long batches = 0, baseline = 0, minRss = long.MaxValue, maxRss = 0;
        var checksum = 0;
        await foreach (var batch in loader.ReadBatchesAsync(int.MaxValue, cancellationToken).ConfigureAwait(false))
        {
            using (batch)
            {
                // The features are random bits (NaNs among them): fold the bits, so the read is not optimized away.
                checksum ^= BitConverter.SingleToInt32Bits(batch.Features.AsSpan<float>()[0]);
                batches++;
            }

            Thread.Sleep(stepMs);
            if (clock.Elapsed < nextReport)
            {
                continue;
            }

            listener.RecordObservableInstruments();
            maxLeases = Math.Max(maxLeases, leases);
            var rss = Environment.WorkingSet;
            if (clock.Elapsed >= TimeSpan.FromMinutes(Math.Min(1, duration.TotalMinutes / 4)))
            {
                baseline = baseline == 0 ? rss : baseline;
                (minRss, maxRss) = (Math.Min(minRss, rss), Math.Max(maxRss, rss));
            }

            // What could grow besides the pool: the managed heap (and what the GC keeps committed) and threads.
            var gc = GC.GetGCMemoryInfo();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{clock.Elapsed:mm\\:ss}  batches {batches,9:N0}  rss {rss / 1048576.0,7:F1} MB  pool leases {leases,3} of {options.EffectivePoolSize}  heap {GC.GetTotalMemory(false) / 1048576.0,6:F1} MB  committed {gc.TotalCommittedBytes / 1048576.0,6:F1} MB  GCs {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}  allocated/batch {(GC.GetTotalAllocatedBytes() - allocatedAtStart) / (double)Math.Max(1, batches),6:F0} B  threads {Process.GetCurrentProcess().Threads.Count,3} (pool {ThreadPool.ThreadCount})"));
            nextReport += TimeSpan.FromSeconds(Math.Clamp(duration.TotalSeconds / 20, 1, 30));
            if (clock.Elapsed >= duration)
            {
                break;
            }
        }

        var spread = baseline == 0 ? 0 : (double)(maxRss - minRss) / baseline;
        var flat = spread <= 0.10 && maxLeases <= options.EffectivePoolSize;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"after warm-up: rss {minRss / 1048576.0:F1}–{maxRss / 1048576.0:F1} MB ({spread:P1} of {baseline / 1048576.0:F1} MB); pool leases at most {maxLeases} of {options.EffectivePoolSize}; {(flat ? "flat" : "NOT flat")} (checksum {checksum:x8})"));
        return flat ? 0 : 1;
    }
}
