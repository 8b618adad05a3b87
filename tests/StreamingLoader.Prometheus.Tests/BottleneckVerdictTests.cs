using System.Globalization;
using System.Text.RegularExpressions;
using StreamingLoader.Prometheus.Tests.Infrastructure;
using Xunit.Abstractions;

namespace StreamingLoader.Prometheus.Tests;

/// <summary>
/// The bottleneck verdict from both of its implementations on one run: the dashboard's verdict row evaluated by a real
/// Prometheus scraping the CLI's demo, and the CLI's own end-of-run verdict (PipelineProfile.Verdict). Once with a
/// transform that waits 20 ms per sample, once with the demo pinned to one CPU beside eight busy processes. In the
/// real-Prometheus collection, so that nothing else of the suite runs while the CPU is starved.
/// </summary>
[Collection(RealPrometheusGroup.Name)]
public sealed class BottleneckVerdictTests(ITestOutputHelper output)
{
    private const string Pipeline = "demo";

    [Fact]
    public async Task Verdict_SlowTransform_DashboardAndCliSayTransformAndTheStarvationAlertFires()
    {
        // 800 samples in batches of 8, one worker waiting 20 ms per sample: 160 ms a batch, about 16 s an epoch. The
        // transform sleeps, so the CPU stays idle whatever else the machine runs.
        await using var demo = await TrainingProcess.StartCliAsync(["demo", "--epochs", "2", "--samples", "800", "--features", "16", "--batch", "8", "--workers", "1", "--transform-delay", "20"]);
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
            Assert.StartsWith("transform:", cli, StringComparison.Ordinal);
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

        var row = await EventuallyVerdictAsync(prometheus, demo, BottleneckKind.Cpu);
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
    private async Task<Dictionary<string, IReadOnlyList<(Dictionary<string, string> Labels, double Value)>>> EventuallyVerdictAsync(PrometheusProcess prometheus, TrainingProcess demo, BottleneckKind expected)
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
            seen.Add(string.Join(",", verdict));
            if (verdict.SequenceEqual([expected]))
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
