using System.Diagnostics;
using System.Globalization;
using System.Text;
using StreamingLoader.Telemetry;

namespace StreamingLoader.Cli;

/// <summary>
/// A timed run of one loader (<c>bench ... --duration S</c>): the consumer reads batches across epochs for S seconds,
/// with a step per batch that may change on a schedule; every 250 ms a point of the timeline records samples/s, the
/// consumer's wait, workers, prefetch, pool and batch memory; every second a progress line goes to standard error
/// with the autotuner's last decision. Prints one JSON object with the timeline and the decisions.
/// </summary>
internal static class BenchTimeline
{
    private static readonly TimeSpan PointEvery = TimeSpan.FromMilliseconds(250);

    public static async Task RunAsync(string workload, Func<DataLoader> build, TimeSpan duration, TimeSpan warmUp, IReadOnlyList<(double At, double Ms)> steps, CancellationToken cancellationToken)
    {
        // Warm-up on a loader of its own, so that the measured one starts from its defaults with its code compiled.
        if (warmUp > TimeSpan.Zero)
        {
            await using var warm = build();
            var warmStart = Stopwatch.GetTimestamp();
            await foreach (var batch in warm.ReadBatchesAsync(int.MaxValue, cancellationToken))
            {
                batch.Dispose();
                if (Stopwatch.GetElapsedTime(warmStart) >= warmUp)
                {
                    break;
                }
            }
        }

        await using var loader = build();
        var options = loader.Options;
        var points = new List<string>();
        var decisions = new List<string>();
        long samples = 0, waitTicks = 0;
        var start = Stopwatch.GetTimestamp();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sampler = Task.Run(() => SampleAsync(loader, options, start, () => (Volatile.Read(ref samples), Volatile.Read(ref waitTicks)), points, decisions, stop.Token), CancellationToken.None);
        double checksum = 0;
        var maxMemory = 0L;
        try
        {
            await using var batches = loader.ReadBatchesAsync(int.MaxValue, cancellationToken).GetAsyncEnumerator(cancellationToken);
            while (true)
            {
                var waited = Stopwatch.GetTimestamp();
                if (!await batches.MoveNextAsync())
                {
                    break;
                }

                Interlocked.Add(ref waitTicks, Stopwatch.GetTimestamp() - waited);
                using (var batch = batches.Current)
                {
                    checksum += BenchCommand.Checksum(batch);
                    var elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
                    Step(steps.Last(s => s.At <= elapsed).Ms);
                    Interlocked.Add(ref samples, batch.Count);
                }

                maxMemory = Math.Max(maxMemory, loader.Autotune?.MemoryBytes ?? 0);
                if (Stopwatch.GetElapsedTime(start) >= duration)
                {
                    break;
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await sampler;
        }

        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var status = loader.Autotune;
        var json = new StringBuilder();
        json.Append(CultureInfo.InvariantCulture, $"{{\"workload\":\"{workload}\",\"workers\":\"{Setting(options.Workers)}\",\"prefetch\":\"{Setting(options.Prefetch)}\",\"seconds\":{seconds:F3},\"samples\":{samples},\"samples_per_s\":{samples / seconds:F1},");
        json.Append(CultureInfo.InvariantCulture, $"\"steps\":[{string.Join(',', steps.Select(s => string.Create(CultureInfo.InvariantCulture, $"[{s.At},{s.Ms}]")))}],\"checksum\":{checksum:G6},");
        json.Append(CultureInfo.InvariantCulture, $"\"final_workers\":{status?.Workers ?? options.Workers},\"final_prefetch\":{status?.Prefetch ?? options.Prefetch},\"changes\":{status?.Changes ?? 0},\"max_memory_bytes\":{maxMemory},\"memory_budget\":{status?.MemoryBudget ?? 0},");
        lock (points)
        {
            json.Append("\"timeline_columns\":[\"t\",\"samples_per_s\",\"wait_share\",\"workers\",\"prefetch\",\"pool\",\"memory_bytes\"],\"timeline\":[").AppendJoin(',', points).Append("],\"decisions\":[").AppendJoin(',', decisions).Append("]}");
        }

        Console.WriteLine(json.ToString());
    }

    private static string Setting(int value) => value == LoaderOptions.Auto ? "auto" : value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A training step that waits without using the CPU (as a GPU step does): sleep, then spin the last fraction of a millisecond.</summary>
    private static void Step(double ms)
    {
        if (ms <= 0)
        {
            return;
        }

        var until = Stopwatch.GetTimestamp() + (long)(ms * Stopwatch.Frequency / 1000);
        Thread.Sleep((int)ms);
        while (Stopwatch.GetTimestamp() < until)
        {
            Thread.SpinWait(20);
        }
    }

    private static async Task SampleAsync(DataLoader loader, LoaderOptions options, long start, Func<(long Samples, long WaitTicks)> read, List<string> points, List<string> decisions, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(PointEvery);
        var (lastSamples, lastWait, lastAt) = (0L, 0L, start);
        var lastChanges = 0;
        var tick = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var now = Stopwatch.GetTimestamp();
                var (samples, wait) = read();
                var interval = (now - lastAt) / (double)Stopwatch.Frequency;
                var t = (now - start) / (double)Stopwatch.Frequency;
                var status = loader.Autotune;
                var rate = (samples - lastSamples) / interval;
                var waitShare = Math.Clamp((wait - lastWait) / (double)Stopwatch.Frequency / interval, 0, 1);
                lock (points)
                {
                    points.Add(string.Create(CultureInfo.InvariantCulture, $"[{t:F3},{rate:F1},{waitShare:F3},{status?.Workers ?? options.Workers},{status?.Prefetch ?? options.Prefetch},{status?.PoolSize ?? options.EffectivePoolSize},{status?.MemoryBytes ?? 0}]"));
                    if (status is not null && status.Changes != lastChanges)
                    {
                        decisions.Add(string.Create(CultureInfo.InvariantCulture, $"[{t:F3},{status.Workers},{status.Prefetch},\"{status.Reason}\",\"{status.Explanation.Replace("\"", "'", StringComparison.Ordinal)}\"]"));
                        lastChanges = status.Changes;
                    }
                }

                if (++tick % 4 == 0)
                {
                    await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"t={t:F1} s  {rate:N0} samples/s  consumer waits {waitShare:P0}  {(status is null ? $"{options.Workers} workers, prefetch {options.Prefetch} (fixed)" : status.ToString())}"));
                }

                (lastSamples, lastWait, lastAt) = (samples, wait, now);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
