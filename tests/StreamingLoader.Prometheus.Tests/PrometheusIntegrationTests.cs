using System.Diagnostics;
using System.Text;
using System.Text.Json;
using StreamingLoader.Prometheus.Tests.Infrastructure;
using Xunit.Abstractions;
using StreamingLoader.Datasets;
using StreamingLoader.Telemetry;

namespace StreamingLoader.Prometheus.Tests;

/// <summary>
/// Against Debian's real Prometheus: it scrapes our endpoint (OpenMetrics, as Prometheus asks for it) while a real
/// pipeline runs, and a second process (the CLI's demo) as a second job; we read back through its HTTP query API, lint
/// a scrape with promtool, and run every dashboard query scoped to each process. These are the contract tests of what
/// users rely on: series names, units, labels, bucket boundaries, OpenMetrics negotiation, promtool's lint.
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
        Assert.Equal(fixture.Instance, target.Labels["instance"]);
        var demo = await fixture.EventuallyAsync($"up{{job=\"{PrometheusFixture.DemoJob}\"}}", value => value == 1);
        Assert.Equal(fixture.DemoInstance, Assert.Single(demo).Labels["instance"]);
    }

    [Fact]
    public async Task SamplesRate_RealPipelineRunning_IsPositive()
    {
        var rate = await fixture.EventuallyAsync($"rate(streamingloader_samples_total{{{fixture.Selector}}}[10s])", value => value > 0);

        output.WriteLine($"samples/s seen by Prometheus: {rate[0].Value:F0}");
        Assert.True(rate[0].Value > 0);
    }

    [Fact]
    public async Task StageMetrics_RealPipeline_EveryStageReportsItemsLatencyAndQueues()
    {
        var selector = fixture.Selector;
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
        await fixture.EventuallyAsync($"streamingloader_consumer_wait_seconds_total{{{fixture.Selector}}}");

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
        Assert.Equal("gauge", entries["streamingloader_stage_workers"].Type);
        Assert.Equal("gauge", entries["streamingloader_stage_queue_capacity"].Type);
        Assert.Equal(("counter", "seconds"), (entries["streamingloader_stage_blocked_seconds"].Type, entries["streamingloader_stage_blocked_seconds"].Unit));
        Assert.Equal(("counter", "bytes"), (entries["streamingloader_bytes"].Type, entries["streamingloader_bytes"].Unit));
        Assert.Equal(("gauge", "bytes"), (entries["dotnet_process_memory_working_set_bytes"].Type, entries["dotnet_process_memory_working_set_bytes"].Unit));
    }

    [Fact]
    public async Task Series_ScrapedAsOpenMetrics_NoCreatedSeriesAndTheRunOnEverySeries()
    {
        await fixture.EventuallyAsync($"rate(streamingloader_samples_total{{{fixture.Selector}}}[10s])", value => value > 0);

        var series = await fixture.Prometheus.SeriesAsync($"{{job=\"streamingloader\", instance=\"{fixture.Instance}\"}}");
        var demo = await fixture.Prometheus.SeriesAsync($"{{job=\"{PrometheusFixture.DemoJob}\"}}");

        // Prometheus asks for OpenMetrics, whose counters carry a _created line each: Prometheus 2 stores them as series.
        // The server drops them (the demo's job has no relabelling), and prometheus.yml drops any another exporter sends.
        Assert.DoesNotContain(series.Concat(demo), s => s["__name__"].EndsWith("_created", StringComparison.Ordinal));
        Assert.Contains(demo, s => s["__name__"] == "streamingloader_samples_total");
        var scraped = series.Where(s => s["__name__"] is not "up" && !s["__name__"].StartsWith("scrape_", StringComparison.Ordinal) && !s["__name__"].StartsWith("ALERTS", StringComparison.Ordinal)).ToList();
        Assert.True(scraped.Count > 50, $"{scraped.Count} series");
        Assert.All(scraped, s => Assert.Equal((fixture.Metrics.ServiceName, fixture.Metrics.RunId), (s.GetValueOrDefault("service_name"), s.GetValueOrDefault("service_instance_id"))));
        Assert.Single(scraped, s => s["__name__"] == "target_info");
        output.WriteLine($"{scraped.Count} series, none _created, all with service_name=\"{fixture.Metrics.ServiceName}\" service_instance_id=\"{fixture.Metrics.RunId}\"");
    }

    [Fact]
    public async Task PromtoolCheckMetrics_LoaderMetricsBody_NoProblems()
    {
        await fixture.EventuallyAsync($"streamingloader_errors_total{{{fixture.Selector}}}");
        await using var loaderOnly = await PrometheusMetricsServer.StartAsync(new MetricsServerOptions { Port = 0, IncludeRuntimeMetrics = false });
        await WaitForAsync(async () => (await Http.GetStringAsync(loaderOnly.Uri)).Contains("streamingloader_errors_total", StringComparison.Ordinal));
        var body = await Http.GetStringAsync(loaderOnly.Uri);

        var (exitCode, stdout, stderr) = await Tools.RunAsync("promtool", ["check", "metrics"], body);

        output.WriteLine(body);
        Assert.True(exitCode == 0, $"promtool check metrics exited {exitCode}:\n{stdout}{stderr}");
        Assert.Equal(string.Empty, stderr.Trim());
        foreach (var family in new[] { "streamingloader_samples_total", "streamingloader_batches_total", "streamingloader_bytes_total", "streamingloader_consumer_wait_seconds_total", "streamingloader_consumer_step_seconds_total", "streamingloader_stage_items_in_total", "streamingloader_stage_items_out_total", "streamingloader_stage_blocked_seconds_total", "streamingloader_stage_duration_seconds", "streamingloader_stage_queue_depth", "streamingloader_pool_leases", "streamingloader_pool_capacity", "streamingloader_errors_total", "streamingloader_stage_workers", "streamingloader_stage_queue_capacity" })
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
    public async Task Labels_LoaderSeries_StableScopeVersionStagesWorkersAndMicrosecondBuckets()
    {
        var selector = fixture.Selector;
        var workers = await fixture.EventuallyAsync($"streamingloader_stage_workers{{{selector}}}");
        var capacity = await fixture.EventuallyAsync($"streamingloader_stage_queue_capacity{{{selector}}}");
        var buckets = await fixture.EventuallyAsync($"streamingloader_stage_duration_seconds_bucket{{{selector}, stage=\"transform\"}}");

        Assert.All(workers, s => Assert.Equal(("StreamingLoader", LoaderMetrics.MeterVersion), (s.Labels["otel_scope_name"], s.Labels["otel_scope_version"])));

        // The training loop: 2 workers, prefetch 2, no shuffle buffer (the sampler shuffles).
        var byStage = workers.ToDictionary(s => s.Labels["stage"], s => s.Value);
        Assert.Equal(1, byStage["source"]);
        Assert.Equal(2, byStage["transform"]);
        Assert.Equal(2, byStage["collate"]);
        Assert.Equal(2, Assert.Single(capacity, s => s.Labels["stage"] == "prefetch").Value);
        Assert.All(capacity, s => Assert.True(s.Value >= 1, $"{s.Labels["stage"]} capacity {s.Value}"));
        var boundaries = buckets.Select(s => s.Labels["le"]).Where(le => le != "+Inf").Select(le => double.Parse(le, System.Globalization.CultureInfo.InvariantCulture)).Order().ToList();
        Assert.Equal(LoaderMetrics.StageDurationBuckets, boundaries);
        Assert.Contains(buckets, s => s.Labels["le"] == "+Inf");
    }

    [Fact]
    public async Task Dashboards_EveryPanelQuery_ParsesRunsAndReturnsDataForEachProcess()
    {
        await fixture.EventuallyAsync($"streamingloader_stage_workers{{job=\"{PrometheusFixture.DemoJob}\", instance=\"{fixture.DemoInstance}\"}}");
        foreach (var (job, instance) in new[] { ("streamingloader", fixture.Instance), (PrometheusFixture.DemoJob, fixture.DemoInstance) })
        {
            var queries = await DashboardQueriesAsync(job, instance);
            Assert.NotEmpty(queries);

            // Instant and range queries must parse and run at once; data may take a few scrapes to be there.
            foreach (var query in queries)
            {
                var range = await fixture.Prometheus.QueryRangeAsync(query.Promql, TimeSpan.FromMinutes(1), TimeSpan.FromSeconds(2));
                Assert.True(range.GetProperty("status").GetString() == "success", $"{query}: {range}");
            }

            var notApplicable = new List<string>();
            var empty = await EventuallyAllReturnDataAsync(job, instance, notApplicable);
            output.WriteLine($"{job} {instance}: {queries.Count} dashboard queries ran; {queries.Count - empty.Count - notApplicable.Count} returned data; does not apply: {string.Join("; ", notApplicable)}");
            Assert.True(empty.Count == 0, $"Panels without data for {job} {instance}:\n" + string.Join('\n', empty));

            // Neither process trains with TorchSharp, reads a live source or pads a sequence, and the test's own loop tunes nothing (the
            // demo runs with --workers auto): those panels, and only those, say so.
            Assert.All(notApplicable, entry => Assert.True(
                entry.StartsWith("Ingest lag", StringComparison.Ordinal) || entry.Contains("TorchSharp", StringComparison.Ordinal)
                || entry.StartsWith("Padding", StringComparison.Ordinal) || (job != PrometheusFixture.DemoJob && entry.StartsWith("Autotune: batch memory vs budget / B", StringComparison.Ordinal)),
                entry));
            Assert.Contains(notApplicable, entry => entry.StartsWith("Loss (last epoch)", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Dashboards_TwoProcessesScraped_EveryQueryScopedToTheSelectedOne()
    {
        await EventuallyAllReturnDataAsync("streamingloader", fixture.Instance);
        await fixture.EventuallyAsync($"dotnet_process_memory_working_set_bytes{{instance=\"{fixture.DemoInstance}\"}}");

        // The demo's samples/s needs two of its scrapes in the rate window, which its working set does not.
        await fixture.EventuallyAsync($"sum(rate(streamingloader_samples_total{{instance=\"{fixture.DemoInstance}\", pipeline=\"{fixture.PipelineName}\"}}[{Repository.RateInterval}]))", rate => rate > 0);

        // Another instance of the same job, or the other process's instance under this job: no panel shows anything.
        foreach (var query in await DashboardQueriesAsync("streamingloader", fixture.DemoInstance))
        {
            Assert.True(PrometheusProcess.Vector(await fixture.Prometheus.QueryAsync(query.Promql)).Count == 0, $"not scoped by instance and job: {query}");
        }

        // One process selected: its own working set and samples/s, not the sum of both processes'. All compared
        // queries are evaluated at one time, so a scrape landing between two of them cannot make them differ.
        var queries = await DashboardQueriesAsync("streamingloader", fixture.Instance);
        var at = DateTimeOffset.UtcNow;
        var memory = queries.Single(q => q.Panel == "Process memory" && q.RefId == "A");
        var panelMemory = PrometheusProcess.Vector(await fixture.Prometheus.QueryAsync(memory.Promql, at)).Single().Value;
        var ownMemory = PrometheusProcess.Vector(await fixture.Prometheus.QueryAsync($"dotnet_process_memory_working_set_bytes{{instance=\"{fixture.Instance}\"}}", at)).Single().Value;
        var allMemory = PrometheusProcess.Vector(await fixture.Prometheus.QueryAsync("sum(dotnet_process_memory_working_set_bytes)", at)).Single().Value;
        Assert.Equal(ownMemory, panelMemory);
        Assert.True(allMemory > ownMemory, "the demo process has a working set too");

        // The headline shows one value per pipeline; their sum is the process's.
        var samples = queries.Single(q => q.Panel == "Samples/s now");
        var ours = PrometheusProcess.Vector(await fixture.Prometheus.QueryAsync(samples.Promql, at)).Sum(s => s.Value);
        var direct = PrometheusProcess.Vector(await fixture.Prometheus.QueryAsync($"sum(rate(streamingloader_samples_total{{{fixture.Selector}}}[{Repository.RateInterval}]))", at)).Single().Value;
        var both = PrometheusProcess.Vector(await fixture.Prometheus.QueryAsync($"sum(rate(streamingloader_samples_total{{pipeline=\"{fixture.PipelineName}\"}}[{Repository.RateInterval}]))", at)).Single().Value;
        output.WriteLine($"samples/s: panel {ours:F0}, this process {direct:F0}, both processes {both:F0}");
        Assert.True(Math.Abs(ours - direct) <= 0.05 * Math.Max(direct, 1), $"panel {ours} vs this process {direct}");
        Assert.True(both > direct, "the demo process delivers samples too");
    }

    [Fact]
    public async Task Dashboards_UtilisationAndBlockedShare_BetweenZeroAndOneForEveryStage()
    {
        var queries = await DashboardQueriesAsync("streamingloader", fixture.Instance);
        await EventuallyAllReturnDataAsync("streamingloader", fixture.Instance);

        foreach (var panel in new[] { "Stage utilisation now", "Blocked on backpressure now", "Queue fill now" })
        {
            var query = queries.Single(q => q.Panel == panel);
            var series = PrometheusProcess.Vector(await fixture.Prometheus.QueryAsync(query.Promql));
            output.WriteLine($"{panel}: " + string.Join(", ", series.Select(s => $"{s.Labels["stage"]} {s.Value:P0}")));
            Assert.NotEmpty(series);

            // rate() extrapolates to the window's edges, so a stage busy or blocked all the time may read a little over 1.
            Assert.All(series, s => Assert.InRange(s.Value, 0, 1.1));
        }
    }

    [Fact]
    public async Task Dashboards_SlowTransform_UtilisationPointsAtItWhileTheConsumerWaits()
    {
        // The bottleneck guide's case: a transform that burns 0.3 ms of CPU per sample on one worker, a consumer that
        // only counts. The transform's utilisation reaches ~100 % and the consumer waits; queue depth would not say it.
        const string pipeline = "slow-transform";
        using var stop = new CancellationTokenSource();
        var run = Task.Run(async () =>
        {
            await using var loader = Pipeline.From(new TensorDataset<float, long>(new float[512 * 4], [4], new long[512]))
                .Transform((sample, _) =>
                {
                    var until = Stopwatch.GetTimestamp() + (Stopwatch.Frequency * 3 / 10_000);
                    while (Stopwatch.GetTimestamp() < until)
                    {
                        Thread.SpinWait(20);
                    }

                    return sample;
                })
                .Build(new LoaderOptions { Name = pipeline, BatchSize = 16, Workers = 1 });
            while (!stop.IsCancellationRequested)
            {
                await foreach (var batch in loader.ReadEpochAsync(stop.Token))
                {
                    batch.Dispose();
                }
            }
        });

        try
        {
            using var document = JsonDocument.Parse(await File.ReadAllTextAsync(Repository.DashboardFiles()[0]));
            var values = new Dictionary<string, string>(StringComparer.Ordinal) { ["job"] = "streamingloader", ["instance"] = fixture.Instance, ["pipeline"] = pipeline, ["stage"] = ".+", ["datasource"] = "prometheus" };
            string Query(string panel) => Repository.Substitute(Repository.Queries(document.RootElement).First(q => q.Panel == panel).Expr, values);

            var utilisation = await fixture.EventuallyAsync(Query("Stage utilisation now"), value => value > 0.8);
            var wait = await fixture.EventuallyAsync(Query("Consumer wait % now"), value => value > 50);

            output.WriteLine("utilisation: " + string.Join(", ", utilisation.Select(s => $"{s.Labels["stage"]} {s.Value:P0}")) + $"; consumer wait {wait.Single().Value:F0} %");
            Assert.Equal("transform", utilisation.MaxBy(s => s.Value).Labels["stage"]);
        }
        finally
        {
            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        }
    }

    [Fact]
    public async Task Dashboards_TemplateVariables_ResolveToTheJobsProcessesPipelineAndStages()
    {
        await fixture.EventuallyAsync($"streamingloader_stage_workers{{job=\"{PrometheusFixture.DemoJob}\"}}");

        foreach (var file in Repository.DashboardFiles())
        {
            using var document = JsonDocument.Parse(await File.ReadAllTextAsync(file));
            var found = await DashboardQueries.ResolveVariablesAsync(fixture.Prometheus, document.RootElement, "streamingloader", fixture.Instance);
            output.WriteLine(string.Join('\n', found.Select(v => $"{v.Key}: {string.Join(", ", v.Value)}")));

            Assert.Contains("streamingloader", found["job"]);
            Assert.Contains(PrometheusFixture.DemoJob, found["job"]);
            Assert.Equal([fixture.Instance], found["instance"]);
            Assert.Equal([fixture.PipelineName], found["pipeline"]);
            Assert.Superset(new HashSet<string> { "source", "read", "transform", "collate", "prefetch" }, found["stage"].ToHashSet());
        }
    }

    /// <summary>Every dashboard query for one process returns data, or does not apply (see DashboardQueries); fails otherwise.</summary>
    private async Task<List<string>> EventuallyAllReturnDataAsync(string job, string instance, List<string>? notApplicable = null) =>
        await DashboardQueries.EventuallyAllReturnDataAsync(fixture.Prometheus, job, instance, notApplicable, fixture.Loop.ThrowIfFaulted);

    private Task<List<DashboardQuery>> DashboardQueriesAsync(string job, string instance) => DashboardQueries.ForAsync(fixture.Prometheus, job, instance);

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), "Condition not met in time.");
            await Task.Delay(100);
        }
    }
}
