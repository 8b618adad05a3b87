using System.Diagnostics;
using System.Text;
using System.Text.Json;
using StreamingLoader.Prometheus.Tests.Infrastructure;
using Xunit.Abstractions;

namespace StreamingLoader.Prometheus.Tests;

/// <summary>
/// Against Debian's real Prometheus: it scrapes our endpoint (OpenMetrics, as Prometheus asks for it) while a real
/// pipeline runs; we read back through its HTTP query API, lint a scrape with promtool, and run every dashboard query.
/// </summary>
[Collection(RealPrometheusGroup.Name)]
public sealed class PrometheusIntegrationTests(PrometheusFixture fixture, ITestOutputHelper output)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    [Fact]
    public async Task Up_PrometheusScrapesTheEndpoint_IsOne()
    {
        var up = await fixture.EventuallyAsync("up{job=\"streamingloader\"}", value => value == 1);

        var target = Assert.Single(up);
        Assert.Equal($"127.0.0.1:{fixture.Metrics.Uri.Port}", target.Labels["instance"]);
    }

    [Fact]
    public async Task SamplesRate_RealPipelineRunning_IsPositive()
    {
        var rate = await fixture.EventuallyAsync($"rate(streamingloader_samples_total{{pipeline=\"{fixture.PipelineName}\"}}[10s])", value => value > 0);

        output.WriteLine($"samples/s seen by Prometheus: {rate[0].Value:F0}");
        Assert.True(rate[0].Value > 0);
    }

    [Fact]
    public async Task StageMetrics_RealPipeline_EveryStageReportsItemsLatencyAndQueues()
    {
        var selector = $"pipeline=\"{fixture.PipelineName}\"";
        var itemsOut = await fixture.EventuallyAsync($"sum by (stage) (rate(streamingloader_stage_items_out_total{{{selector}}}[10s]))", value => value > 0);
        var latency = await fixture.EventuallyAsync($"sum by (stage) (rate(streamingloader_stage_duration_seconds_count{{{selector}}}[10s]))", value => value > 0);
        var queues = await fixture.EventuallyAsync($"streamingloader_stage_queue_depth{{{selector}}}");

        var stages = itemsOut.Select(s => s.Labels["stage"]).ToHashSet();
        output.WriteLine("stages: " + string.Join(", ", stages.Order()));
        Assert.Contains("read", stages);
        Assert.Contains("transform", stages);
        Assert.Contains("collate", stages);
        Assert.Contains(latency, s => s.Labels["stage"] == "transform");
        Assert.NotEmpty(queues);
        Assert.All(queues, s => Assert.True(s.Value >= 0));
    }

    [Fact]
    public async Task Metadata_ScrapedAsOpenMetrics_KeepsTypesUnitsAndHelp()
    {
        await fixture.EventuallyAsync($"streamingloader_consumer_wait_seconds_total{{pipeline=\"{fixture.PipelineName}\"}}");

        var metadata = await fixture.Prometheus.GetJsonAsync("api/v1/targets/metadata?match_target=" + Uri.EscapeDataString("{job=\"streamingloader\"}"));
        var entries = metadata.GetProperty("data").EnumerateArray()
            .ToDictionary(e => e.GetProperty("metric").GetString()!, e => (Type: e.GetProperty("type").GetString(), Unit: e.GetProperty("unit").GetString(), Help: e.GetProperty("help").GetString()));

        // OpenMetrics names a counter's family without _total and carries its UNIT: proof Prometheus parsed OpenMetrics.
        Assert.Equal(("counter", "seconds", "Time the consumer waited for its next batch (starvation)."), entries["streamingloader_consumer_wait_seconds"]);
        Assert.Equal("counter", entries["streamingloader_samples"].Type);
        Assert.Equal("histogram", entries["streamingloader_stage_duration_seconds"].Type);
        Assert.Equal("seconds", entries["streamingloader_stage_duration_seconds"].Unit);
        Assert.Equal("gauge", entries["streamingloader_stage_queue_depth"].Type);
        Assert.Equal("gauge", entries["streamingloader_pool_leases"].Type);
        Assert.Equal(("gauge", "bytes"), (entries["dotnet_process_memory_working_set_bytes"].Type, entries["dotnet_process_memory_working_set_bytes"].Unit));
    }

    [Fact]
    public async Task PromtoolCheckMetrics_LoaderMetricsBody_NoProblems()
    {
        await fixture.EventuallyAsync($"streamingloader_errors_total{{pipeline=\"{fixture.PipelineName}\"}}");
        await using var loaderOnly = await PrometheusMetricsServer.StartAsync(new MetricsServerOptions { Port = 0, IncludeRuntimeMetrics = false });
        await WaitForAsync(async () => (await Http.GetStringAsync(loaderOnly.Uri)).Contains("streamingloader_errors_total", StringComparison.Ordinal));
        var body = await Http.GetStringAsync(loaderOnly.Uri);

        var (exitCode, stdout, stderr) = await Tools.RunAsync("promtool", ["check", "metrics"], body);

        output.WriteLine(body);
        Assert.True(exitCode == 0, $"promtool check metrics exited {exitCode}:\n{stdout}{stderr}");
        Assert.Equal(string.Empty, stderr.Trim());
        foreach (var family in new[] { "streamingloader_samples_total", "streamingloader_batches_total", "streamingloader_bytes_total", "streamingloader_consumer_wait_seconds_total", "streamingloader_consumer_step_seconds_total", "streamingloader_stage_items_in_total", "streamingloader_stage_items_out_total", "streamingloader_stage_blocked_seconds_total", "streamingloader_stage_duration_seconds", "streamingloader_stage_queue_depth", "streamingloader_pool_leases", "streamingloader_pool_capacity", "streamingloader_errors_total" })
        {
            Assert.Contains($"# TYPE {family} ", body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task PromtoolCheckMetrics_FullBodyWithRuntimeMetrics_ParsesAndOnlyRuntimeCountNamesAreLinted()
    {
        await fixture.EventuallyAsync("up{job=\"streamingloader\"}", value => value == 1);
        var body = await Http.GetStringAsync(fixture.Metrics.Uri);

        var (exitCode, stdout, stderr) = await Tools.RunAsync("promtool", ["check", "metrics"], body);

        // Exit 0 is clean; 3 means lint findings only (1 would be a parse error). The only findings allowed are the
        // runtime's own instrument names ending in ".count" (dotnet.process.cpu.count, dotnet.timer.count, ...), which
        // the OpenTelemetry naming rules keep as they are.
        output.WriteLine($"promtool exit {exitCode}\n{stdout}{stderr}");
        Assert.True(exitCode is 0 or 3, $"promtool check metrics exited {exitCode}:\n{stdout}{stderr}");
        Assert.DoesNotContain("error while linting", stderr, StringComparison.Ordinal);
        foreach (var line in stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            Assert.Matches("^dotnet_[a-z_]+_count non-histogram and non-summary metrics should not have \"_count\" suffix$", line);
        }

        Assert.Contains("# TYPE dotnet_process_cpu_time_seconds_total counter", body, StringComparison.Ordinal);
        Assert.Contains("# TYPE streamingloader_samples_total counter", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PromtoolCheckConfig_RepositoryAndRewrittenConfig_Valid()
    {
        var repository = await Tools.RunAsync("promtool", ["check", "config", Repository.PrometheusConfig]);
        var rewritten = await Tools.RunAsync("promtool", ["check", "config", fixture.Prometheus.ConfigPath]);

        Assert.True(repository.ExitCode == 0, repository.StandardOutput + repository.StandardError);
        Assert.Contains("SUCCESS", repository.StandardOutput + repository.StandardError, StringComparison.Ordinal);
        Assert.True(rewritten.ExitCode == 0, rewritten.StandardOutput + rewritten.StandardError);
        Assert.Contains("job_name: streamingloader", fixture.ScrapeConfig, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{fixture.Metrics.Uri.Port}", fixture.ScrapeConfig, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dashboards_EveryPanelQuery_ParsesRunsAndReturnsData()
    {
        var queries = DashboardQueries();
        Assert.NotEmpty(queries);

        // Instant and range queries must parse and run at once; data may take a few scrapes to be there.
        foreach (var query in queries)
        {
            var range = await fixture.Prometheus.QueryRangeAsync(query.Promql, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(2));
            Assert.True(range.GetProperty("status").GetString() == "success", $"{query}: {range}");
        }

        var deadline = Stopwatch.StartNew();
        List<string> empty;
        while (true)
        {
            fixture.Loop.ThrowIfFaulted();
            empty = [];
            foreach (var query in queries)
            {
                var response = await fixture.Prometheus.QueryAsync(query.Promql);
                Assert.True(response.GetProperty("status").GetString() == "success", $"{query}: {response}");
                if (PrometheusProcess.Vector(response).Count == 0)
                {
                    empty.Add(query.ToString());
                }
            }

            if (empty.Count == 0 || deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                break;
            }

            await Task.Delay(500);
        }

        output.WriteLine($"{queries.Count} dashboard queries ran; {queries.Count - empty.Count} returned data.");
        Assert.True(empty.Count == 0, "Panels without data:\n" + string.Join('\n', empty));
    }

    [Fact]
    public async Task Dashboards_TemplateVariables_ResolveToThePipelineStagesAndProcess()
    {
        await fixture.EventuallyAsync($"streamingloader_stage_items_in_total{{pipeline=\"{fixture.PipelineName}\"}}");

        foreach (var file in Repository.DashboardFiles())
        {
            using var document = JsonDocument.Parse(await File.ReadAllTextAsync(file));
            var values = VariableValues(document.RootElement);
            foreach (var variable in document.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray())
            {
                if (variable.GetProperty("type").GetString() != "query")
                {
                    continue;
                }

                var name = variable.GetProperty("name").GetString()!;
                var definition = variable.GetProperty("definition").GetString()!;
                var match = System.Text.RegularExpressions.Regex.Match(definition, @"^label_values\((?<selector>.+),\s*(?<label>\w+)\)$");
                Assert.True(match.Success, $"{Path.GetFileName(file)} variable {name}: '{definition}' is not label_values(selector, label)");
                var selector = Repository.Substitute(match.Groups["selector"].Value, values);
                var series = await fixture.Prometheus.SeriesAsync(selector);
                var found = series.Where(s => s.ContainsKey(match.Groups["label"].Value)).Select(s => s[match.Groups["label"].Value]).ToHashSet();

                output.WriteLine($"{name}: {string.Join(", ", found.Order())}");
                Assert.NotEmpty(found);
                if (name == "pipeline")
                {
                    Assert.Contains(fixture.PipelineName, found);
                }
            }
        }
    }

    private List<DashboardQuery> DashboardQueries()
    {
        var queries = new List<DashboardQuery>();
        foreach (var file in Repository.DashboardFiles())
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            var values = VariableValues(document.RootElement);
            foreach (var (panel, refId, expr) in Repository.Queries(document.RootElement))
            {
                var promql = Repository.Substitute(expr, values);
                Assert.DoesNotContain("$", promql, StringComparison.Ordinal);
                queries.Add(new DashboardQuery(Path.GetFileName(file), panel, refId, promql));
            }
        }

        return queries;
    }

    /// <summary>
    /// What Grafana would substitute for each template variable: this run's pipeline for <c>pipeline</c>, and the
    /// "All" value (<c>allValue</c>, <c>.*</c>) for the others.
    /// </summary>
    private Dictionary<string, string> VariableValues(JsonElement dashboard)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var variable in dashboard.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            var name = variable.GetProperty("name").GetString()!;
            values[name] = name switch
            {
                "pipeline" => fixture.PipelineName,
                "datasource" => "prometheus",
                _ => variable.TryGetProperty("allValue", out var all) && all.GetString() is { Length: > 0 } allValue ? allValue : ".*",
            };
        }

        return values;
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), "Condition not met in time.");
            await Task.Delay(100);
        }
    }

    private sealed record DashboardQuery(string Dashboard, string Panel, string RefId, string Promql)
    {
        public override string ToString() => new StringBuilder().Append(Dashboard).Append(" / ").Append(Panel).Append(" / ").Append(RefId).Append(": ").Append(Promql).ToString();
    }
}
