using System.Globalization;
using System.Text.RegularExpressions;
using StreamingLoader.Prometheus.Tests.Infrastructure;
using Xunit.Abstractions;
using StreamingLoader.Telemetry;

namespace StreamingLoader.Prometheus.Tests;

/// <summary>
/// The bottleneck verdict from both of its implementations on one run: the dashboard's verdict row evaluated by a real
/// Prometheus scraping the CLI's demo, and the CLI's own end-of-run verdict (PipelineProfile.Verdict). Once with a
/// transform that waits 50 ms per sample, once with the demo pinned to one CPU beside eight busy processes. In a
/// collection that runs alone, after the others: the rest of the suite (the real-Prometheus fixture's demo and training
/// loop among it) neither adds its load to these runs nor feels the CPU starved.
/// </summary>
[Collection(RunsAloneGroup.Name)]
public sealed class BottleneckVerdictTests(ITestOutputHelper output)
{
    private const string Pipeline = "demo";

    [Fact]
    public async Task Verdict_SlowTransform_DashboardAndCliSayTransformAndTheStarvationAlertFires()
    {
        // 480 samples in batches of 4, one worker waiting 50 ms per sample: 200 ms a batch, 24 s for the epoch. The
        // transform sleeps, so the process needs next to no CPU, and wakes up seldom: on a busy machine every wake-up
        // waits for a CPU (with 20 ms per sample and the rest of the suite running it measured 0.5 threads waiting per
        // core, against 0.01 alone), and seldom keeps that far under the rule's 1.
        await using var demo = await TrainingProcess.StartCliAsync(["demo", "--epochs", "1", "--samples", "480", "--features", "16", "--batch", "4", "--workers", "1", "--transform-delay", "50"]);
        var folder = Directory.CreateTempSubdirectory("streamingloader-alerts-");
        try
        {
            await using var prometheus = await PrometheusProcess.StartAsync(Repository.PrometheusConfigFor(demo.Port, rules: Repository.FastAlertsCopy(folder.FullName)));

            var row = await EventuallyVerdictAsync(prometheus, demo, BottleneckKind.Stage);
            Assert.Equal("transform", Assert.Single(row["Busiest stage now / A"], s => s.Labels["pipeline"] == Pipeline).Labels["stage"]);

            // The shipped starvation alert (its windows and for: shortened in a copy) fires for this pipeline.
            var alert = await EventuallyAsync(prometheus, $"ALERTS{{alertname=\"StreamingLoaderInputStarvation\", alertstate=\"firing\", pipeline=\"{Pipeline}\"}}", demo);
            output.WriteLine("alert firing: " + string.Join(", ", alert.Single().Labels.Where(l => l.Key != "__name__").Select(l => $"{l.Key}={l.Value}")));

            await demo.WaitForExitAsync(TimeSpan.FromMinutes(3));
            var cli = CliVerdict(demo.Output);
            output.WriteLine("CLI: " + cli);

            // The CLI judges the whole run: on a machine so loaded that the process's own threads queued for a CPU
            // (the rule's first step, from the figures it prints), CPU is the right answer, and transform the busiest.
            if (!cli.StartsWith("transform:", StringComparison.Ordinal))
            {
                Assert.StartsWith("CPU:", cli, StringComparison.Ordinal);
                Assert.Contains("busiest stage transform", cli, StringComparison.Ordinal);
                var figures = Regex.Match(cli, @"CPU (?<used>[0-9.]+) of (?<cores>[0-9.]+) cores, (?<waiting>[0-9.]+) threads waiting for a CPU, thread-pool queue (?<queue>[0-9.]+);.*\((?<dispatch>[0-9.]+) % for a thread");
                Assert.True(figures.Success, cli);
                double Figure(string name) => double.Parse(figures.Groups[name].Value, CultureInfo.InvariantCulture);
                var cores = Figure("cores");
                Assert.True(
                    Figure("used") / cores >= BottleneckVerdict.CpuUseThreshold || Figure("waiting") / cores >= BottleneckVerdict.CpuWaitThreshold
                    || Figure("queue") / cores >= BottleneckVerdict.ThreadPoolQueueThreshold || Figure("dispatch") / 100 >= BottleneckVerdict.DispatchThreshold,
                    "CPU without the figures that say so: " + cli);
            }
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Verdict_StarvedOfCpu_DashboardAndCliSayCpu()
    {
        // Eight busy processes and the demo on CPU 0: the demo's threads wait for the CPU most of the time, whatever
        // else runs on the machine (which can only starve it more). The other CPUs stay free for everything else.
        using var hogs = new CpuHogs(8, "0");
        await using var demo = await TrainingProcess.StartCliAsync(["demo", "--epochs", "10", "--samples", "50000", "--features", "16"], cpus: "0");
        await using var prometheus = await PrometheusProcess.StartAsync(Repository.PrometheusConfigFor(demo.Port));

        // Wait for the window to hold starvation alone (early ones hold the start too), so that the run-queue step of the
        // rule decides: as many threads waiting for a CPU as the process has cores.
        var row = await EventuallyVerdictAsync(prometheus, demo, BottleneckKind.Cpu, r => ThreadsWaitingPerCore(r) >= BottleneckVerdict.CpuWaitThreshold);
        Assert.Equal(1, Assert.Single(row["CPU: cores used, available, threads waiting / B"]).Value);

        await demo.WaitForExitAsync(TimeSpan.FromMinutes(5));
        var cli = CliVerdict(demo.Output);
        output.WriteLine("CLI: " + cli);
        Assert.StartsWith("CPU:", cli, StringComparison.Ordinal);
        Assert.Contains("of 1.00 cores", cli, StringComparison.Ordinal);
    }

    /// <summary>
    /// Evaluates the verdict row (all its queries at one time, pipeline <see cref="Pipeline"/>) until the verdict panel
    /// says <paramref name="expected"/> for the pipeline, or the demo has ended; writes the row's values to the output.
    /// </summary>
    private async Task<Dictionary<string, IReadOnlyList<(Dictionary<string, string> Labels, double Value)>>> EventuallyVerdictAsync(
        PrometheusProcess prometheus, TrainingProcess demo, BottleneckKind expected, Func<Dictionary<string, IReadOnlyList<(Dictionary<string, string> Labels, double Value)>>, bool>? also = null)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal) { ["pipeline"] = Pipeline, ["stage"] = ".+" };
        var queries = (await DashboardQueries.ForAsync(prometheus, "streamingloader", demo.Instance, values)).Where(q => VerdictRow.Contains(q.Panel)).ToList();
        Assert.Equal(VerdictRow.Count, queries.Select(q => q.Panel).Distinct().Count());
        var seen = new List<string>();
        while (true)
        {
            var at = DateTimeOffset.UtcNow;
            var row = new Dictionary<string, IReadOnlyList<(Dictionary<string, string> Labels, double Value)>>(StringComparer.Ordinal);
            foreach (var query in queries)
            {
                row[$"{query.Panel} / {query.RefId}"] = PrometheusProcess.Vector(await prometheus.QueryAsync(query.Promql, at));
            }

            var verdict = row["Bottleneck now / A"].Where(s => s.Labels["pipeline"] == Pipeline).Select(s => (BottleneckKind)(int)s.Value).ToList();
            seen.Add(string.Join(",", verdict) + (verdict.Count > 0 && also is not null ? $"({ThreadsWaitingPerCore(row):F2} waiting per core)" : string.Empty));
            if (verdict.SequenceEqual([expected]) && (also?.Invoke(row) ?? true))
            {
                output.WriteLine($"verdict row at {at:HH:mm:ss} (verdicts seen before: {string.Join(" ", seen)}):");
                foreach (var (panel, series) in row)
                {
                    output.WriteLine($"  {panel}: " + string.Join("; ", series.Select(s => $"{string.Join(" ", s.Labels.Where(l => l.Key is not ("service_name" or "service_instance_id")).Select(l => l.Value))} = {s.Value.ToString("G4", CultureInfo.InvariantCulture)}")));
                }

                return row;
            }

            Assert.False(demo.HasExited, $"The demo ended before the dashboard said {expected}; verdicts seen: {string.Join(" ", seen)}\n{demo.Output}");
            await Task.Delay(500);
        }
    }

    private static async Task<IReadOnlyList<(Dictionary<string, string> Labels, double Value)>> EventuallyAsync(PrometheusProcess prometheus, string promql, TrainingProcess demo)
    {
        while (true)
        {
            var vector = PrometheusProcess.Vector(await prometheus.QueryAsync(promql));
            if (vector.Count > 0)
            {
                return vector;
            }

            Assert.False(demo.HasExited, $"The demo ended before '{promql}' returned data. Prometheus rules: {await prometheus.GetJsonAsync("api/v1/rules")}");
            await Task.Delay(500);
        }
    }

    private static double ThreadsWaitingPerCore(Dictionary<string, IReadOnlyList<(Dictionary<string, string> Labels, double Value)>> row) =>
        row["CPU: cores used, available, threads waiting / C"].Sum(s => s.Value) / row["CPU: cores used, available, threads waiting / B"].Sum(s => s.Value);

    /// <summary>The CLI's end-of-run verdict: the text after "bottleneck: ".</summary>
    private static string CliVerdict(string output)
    {
        var match = Regex.Match(output, "^bottleneck: (?<verdict>.+)$", RegexOptions.Multiline);
        Assert.True(match.Success, "No 'bottleneck:' line in the CLI's output:\n" + output);
        return match.Groups["verdict"].Value.Trim();
    }

    private static readonly HashSet<string> VerdictRow =
    [
        "Bottleneck now", "Busiest stage now", "CPU: cores used, available, threads waiting", "Thread pool: queued work and threads",
        "Consumer wait: no batch ready vs waiting for a thread", "Source waits: for the consumer or the stages",
    ];
}

/// <summary>Tests that run alone, after every other collection (xUnit runs a collection without parallelization last).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunsAloneGroup
{
    public const string Name = "Runs alone";
}
