using System.Text.Json;
using StreamingLoader.Prometheus.Tests.Infrastructure;
using StreamingLoader.Telemetry;

namespace StreamingLoader.Prometheus.Tests;

/// <summary>The Grafana dashboards' structure and the provisioning files (their queries run in the integration tests).</summary>
public sealed class DashboardTests
{
    [Fact]
    public void Dashboards_Folder_HasAtLeastOneDashboard()
    {
        Assert.NotEmpty(Repository.DashboardFiles());
    }

    [Fact]
    public void Dashboards_Each_CurrentSchemaWithUidTitleAndUniquePanelIds()
    {
        var uids = new HashSet<string>();
        foreach (var file in Repository.DashboardFiles())
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            var dashboard = document.RootElement;

            Assert.True(dashboard.GetProperty("schemaVersion").GetInt32() >= 39, $"{file}: schemaVersion");
            Assert.True(uids.Add(dashboard.GetProperty("uid").GetString()!), $"{file}: duplicate uid");
            Assert.False(string.IsNullOrWhiteSpace(dashboard.GetProperty("title").GetString()));
            var ids = Repository.Panels(dashboard).Select(p => p.GetProperty("id").GetInt32()).ToList();
            Assert.Equal(ids.Count, ids.Distinct().Count());
            foreach (var panel in Repository.Panels(dashboard))
            {
                var grid = panel.GetProperty("gridPos");
                Assert.InRange(grid.GetProperty("x").GetInt32() + grid.GetProperty("w").GetInt32(), 1, 24);
            }
        }
    }

    [Fact]
    public void Dashboards_Templating_OneJobAndOneInstanceAtATime()
    {
        foreach (var (file, variables) in Variables())
        {
            foreach (var name in new[] { "job", "instance" })
            {
                var variable = variables[name];
                Assert.Equal("query", variable.GetProperty("type").GetString());
                Assert.False(variable.GetProperty("multi").GetBoolean(), $"{file}: {name} is multi-value");
                Assert.False(variable.GetProperty("includeAll").GetBoolean(), $"{file}: {name} has All");
            }

            Assert.Contains("job=\"$job\"", variables["instance"].GetProperty("definition").GetString(), StringComparison.Ordinal);
            foreach (var name in new[] { "pipeline", "stage" })
            {
                Assert.Contains("job=\"$job\", instance=\"$instance\"", variables[name].GetProperty("definition").GetString(), StringComparison.Ordinal);
            }

            foreach (var variable in variables.Values)
            {
                // An "All" of ".*" would match other jobs' and processes' values: Grafana builds "All" from the values found.
                Assert.False(variable.TryGetProperty("allValue", out var all) && all.GetString() is { Length: > 0 }, $"{file}: {variable.GetProperty("name")} has allValue {all}");
            }
        }
    }

    [Fact]
    public void Dashboards_EverySeriesSelector_ScopedByJobAndInstanceWithRateInterval()
    {
        foreach (var file in Repository.DashboardFiles())
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var (panel, refId, expr) in Repository.Queries(document.RootElement))
            {
                var selectors = Repository.Selectors(expr).ToList();
                Assert.NotEmpty(selectors);
                foreach (var (metric, matchers) in selectors)
                {
                    Assert.True(matchers.Contains("job=\"$job\"", StringComparison.Ordinal) && matchers.Contains("instance=\"$instance\"", StringComparison.Ordinal), $"{panel} {refId}: {metric} is not scoped by job and instance: {expr}");
                }

                foreach (System.Text.RegularExpressions.Match range in System.Text.RegularExpressions.Regex.Matches(expr, @"\[(?<range>[^\]]+)\]"))
                {
                    Assert.True(range.Groups["range"].Value == "$__rate_interval", $"{panel} {refId}: range [{range.Groups["range"].Value}] instead of [$__rate_interval]");
                }
            }
        }
    }

    [Fact]
    public void Dashboards_EveryPanel_HasAUnitAndQueueFillTreatsAFullPrefetchAsHealthy()
    {
        foreach (var file in Repository.DashboardFiles())
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var panel in Repository.Panels(document.RootElement).Where(p => p.GetProperty("type").GetString() != "row"))
            {
                var unit = panel.GetProperty("fieldConfig").GetProperty("defaults").TryGetProperty("unit", out var u) ? u.GetString() : null;
                Assert.False(string.IsNullOrEmpty(unit), $"{panel.GetProperty("title")}: no unit");
            }

            var fill = Repository.Panels(document.RootElement).Single(p => p.GetProperty("title").GetString() == "Queue fill now");
            var prefetch = fill.GetProperty("fieldConfig").GetProperty("overrides").EnumerateArray()
                .Single(o => o.GetProperty("matcher").GetProperty("options").GetString()!.Contains("prefetch", StringComparison.Ordinal));
            var steps = prefetch.GetProperty("properties").EnumerateArray().Single(p => p.GetProperty("id").GetString() == "thresholds")
                .GetProperty("value").GetProperty("steps").EnumerateArray().ToList();
            Assert.Equal("red", steps[0].GetProperty("color").GetString());
            Assert.Equal("green", steps[^1].GetProperty("color").GetString());
        }
    }

    [Fact]
    public void Dashboards_Templating_DatasourcePipelineAndStageVariables()
    {
        foreach (var (file, variables) in Variables())
        {
            var datasource = variables["datasource"];
            Assert.Equal("datasource", datasource.GetProperty("type").GetString());
            Assert.Equal("prometheus", datasource.GetProperty("query").GetString());
            foreach (var name in new[] { "pipeline", "stage" })
            {
                var variable = variables[name];
                Assert.Equal("query", variable.GetProperty("type").GetString());
                Assert.Equal("${datasource}", variable.GetProperty("datasource").GetProperty("uid").GetString());
                Assert.StartsWith("label_values(", variable.GetProperty("definition").GetString(), StringComparison.Ordinal);
                Assert.EndsWith($", {name})", variable.GetProperty("definition").GetString(), StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void Dashboards_EveryPanelAndTarget_UsesTheDatasourceVariable()
    {
        foreach (var file in Repository.DashboardFiles())
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            foreach (var panel in Repository.Panels(document.RootElement).Where(p => p.GetProperty("type").GetString() != "row"))
            {
                var title = panel.GetProperty("title").GetString();
                Assert.Equal("prometheus", panel.GetProperty("datasource").GetProperty("type").GetString());
                Assert.True(panel.GetProperty("datasource").GetProperty("uid").GetString() == "${datasource}", $"{title}: panel datasource");
                foreach (var target in panel.GetProperty("targets").EnumerateArray())
                {
                    Assert.True(target.GetProperty("datasource").GetProperty("uid").GetString() == "${datasource}", $"{title}: target datasource");
                }
            }
        }
    }

    [Fact]
    public void Dashboards_Queries_CoverEveryLoaderMetricAndTheRuntime()
    {
        var queries = Repository.DashboardFiles()
            .SelectMany(file =>
            {
                using var document = JsonDocument.Parse(File.ReadAllText(file));
                return Repository.Queries(document.RootElement).Select(q => q.Expr).ToList();
            })
            .ToList();
        var all = string.Join('\n', queries);

        foreach (var series in new[]
        {
            "streamingloader_samples_total", "streamingloader_batches_total", "streamingloader_bytes_total",
            "streamingloader_stage_queue_depth", "streamingloader_stage_blocked_seconds_total",
            "streamingloader_stage_items_in_total", "streamingloader_stage_items_out_total",
            "streamingloader_stage_duration_seconds_bucket", "streamingloader_consumer_wait_seconds_total",
            "streamingloader_consumer_step_seconds_total", "streamingloader_errors_total",
            "streamingloader_pool_leases", "streamingloader_pool_capacity", "streamingloader_stage_duration_seconds_sum",
            "streamingloader_stage_workers", "streamingloader_stage_queue_capacity",
            "dotnet_process_cpu_time_seconds_total", "dotnet_process_memory_working_set_bytes", "dotnet_gc_collections_total",
            "streamingloader_samples_read_total", "streamingloader_samples_skipped_total", "streamingloader_samples_failed_total",
            "streamingloader_samples_dropped_total", "streamingloader_retries_total",
            "streamingloader_autotune_workers", "streamingloader_autotune_prefetch", "streamingloader_autotune_memory_bytes",
            "streamingloader_autotune_memory_budget_bytes", "streamingloader_autotune_changes_total", "streamingloader_autotune_last_change",
            "streamingloader_consumer_dispatch_seconds_total", "streamingloader_source_wait_seconds_total",
            "streamingloader_process_cpu_limit", "streamingloader_process_cpu_wait_seconds_total", "streamingloader_pool_held",
            "dotnet_thread_pool_queue_length_total", "target_info", "streamingloader_ingest_lag_seconds_bucket",
            "streamingloader_torch_loss", "streamingloader_torch_accuracy", "streamingloader_torch_epoch", "streamingloader_torch_epoch_step",
            "streamingloader_torch_epoch_steps", "streamingloader_torch_epoch_duration_seconds", "streamingloader_torch_learning_rate",
            "streamingloader_torch_steps_total", "streamingloader_torch_input_wait_seconds_total",
            "streamingloader_sequence_steps_total", "streamingloader_sequence_padding_total",
        })
        {
            Assert.Contains(series, all, StringComparison.Ordinal);
        }

        Assert.Contains(queries, q => q.StartsWith("histogram_quantile(0.5,", StringComparison.Ordinal));
        Assert.Contains(queries, q => q.StartsWith("histogram_quantile(0.99,", StringComparison.Ordinal));
        Assert.Contains(queries, q => q.Contains("streamingloader_consumer_wait_seconds_total", StringComparison.Ordinal) && q.Contains("streamingloader_consumer_step_seconds_total", StringComparison.Ordinal) && q.StartsWith("100 *", StringComparison.Ordinal));
        Assert.Contains(queries, q => q.Contains("by (pipeline, stage, policy)", StringComparison.Ordinal));

        // Utilisation: busy seconds per second divided by the stage's workers.
        Assert.Contains(queries, q => q.StartsWith("sum by (pipeline, stage) (rate(streamingloader_stage_duration_seconds_sum{", StringComparison.Ordinal) && q.Contains("/ on (pipeline, stage) sum by (pipeline, stage) (streamingloader_stage_workers{", StringComparison.Ordinal));
    }

    [Fact]
    public void VerdictPanel_Thresholds_AreBottleneckVerdicts()
    {
        // The dashboard and the CLI decide by one rule: each step of BottleneckVerdict, with its threshold, in PromQL.
        static string Number(double value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        const string Selector = @"\{[^}]*\}\[\$__rate_interval\]\)\)";
        const string Cores = @" / max\(streamingloader_process_cpu_limit\{[^}]*\}\)";
        using var document = JsonDocument.Parse(File.ReadAllText(Repository.DashboardFiles()[0]));
        var verdict = Repository.Queries(document.RootElement).Single(q => q.Panel == "Bottleneck now").Expr;

        foreach (var step in new[]
        {
            $@"sum\(rate\(dotnet_process_cpu_time_seconds_total{Selector}{Cores} >= bool {Number(BottleneckVerdict.CpuUseThreshold)} or vector\(0\)",
            $@"sum\(rate\(streamingloader_process_cpu_wait_seconds_total{Selector}{Cores} >= bool {Number(BottleneckVerdict.CpuWaitThreshold)} or vector\(0\)",
            $@"sum\(avg_over_time\(dotnet_thread_pool_queue_length_total{Selector}{Cores} >= bool {Number(BottleneckVerdict.ThreadPoolQueueThreshold)} or vector\(0\)",
            $@"streamingloader_consumer_dispatch_seconds_total{Selector} / \([^>]*\) >= bool {Number(BottleneckVerdict.DispatchThreshold)}\)",
            $@"2 \* \(\(sum by \(pipeline\) \(rate\(streamingloader_consumer_wait_seconds_total[^<]*\)\) < bool {Number(BottleneckVerdict.ConsumerWaitThreshold)}\)",
            $@"3 \* \(max by \(pipeline\) \(sum by \(pipeline, stage\) \(rate\(streamingloader_stage_duration_seconds_sum[^>]*\) >= bool {Number(BottleneckVerdict.StageBusyThreshold)}\)",
            $@"4 \* \(sum by \(pipeline\) \(rate\(streamingloader_stage_blocked_seconds_total\{{[^}}]*stage=""source""\}}\[\$__rate_interval\]\)\) < bool {Number(BottleneckVerdict.SourceBlockedThreshold)}\)",
        })
        {
            Assert.Matches(step, verdict);
        }

        // Its value mappings name each kind by its number.
        var panel = Repository.Panels(document.RootElement).Single(p => p.GetProperty("title").GetString() == "Bottleneck now");
        var mapped = panel.GetProperty("fieldConfig").GetProperty("defaults").GetProperty("mappings")[0].GetProperty("options");
        foreach (var kind in Enum.GetValues<BottleneckKind>())
        {
            var text = mapped.GetProperty(((int)kind).ToString(System.Globalization.CultureInfo.InvariantCulture)).GetProperty("text").GetString()!;
            Assert.StartsWith(kind switch { BottleneckKind.Cpu => "CPU", BottleneckKind.Stage => "a stage", _ => kind.ToString().ToLowerInvariant() }, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Dashboards_PanelsThatMayNotApply_SayWhy()
    {
        // A process that does not train with TorchSharp, or reads no live source, shows a sentence, not an empty panel.
        using var document = JsonDocument.Parse(File.ReadAllText(Repository.DashboardFiles()[0]));
        var mayNotApply = Repository.Panels(document.RootElement)
            .Where(p => p.TryGetProperty("targets", out var targets) && targets.EnumerateArray().All(t =>
                t.GetProperty("expr").GetString()!.Contains("streamingloader_torch_", StringComparison.Ordinal)
                || t.GetProperty("expr").GetString()!.Contains("streamingloader_ingest_lag", StringComparison.Ordinal)))
            .ToList();

        Assert.True(mayNotApply.Count >= 10, $"{mayNotApply.Count} panels");
        foreach (var panel in mayNotApply)
        {
            var says = panel.GetProperty("fieldConfig").GetProperty("defaults").TryGetProperty("noValue", out var text) ? text.GetString() : null;
            Assert.False(string.IsNullOrWhiteSpace(says), $"{panel.GetProperty("title")}: no noValue text");
        }
    }

    [Fact]
    public void Substitute_GrafanaVariableForms_AllReplaced()
    {
        var values = new Dictionary<string, string> { ["pipeline"] = "train", ["stage"] = ".*" };

        var promql = Repository.Substitute("rate(x{pipeline=~\"$pipeline\", stage=~\"${stage}\", p=\"[[pipeline]]\", q=\"${pipeline:regex}\"}[$__rate_interval])", values);

        Assert.Equal("rate(x{pipeline=~\"train\", stage=~\".*\", p=\"train\", q=\"train\"}[10s])", promql);
        Assert.Throws<InvalidOperationException>(() => Repository.Substitute("x{a=\"$unknown\"}", values));
    }

    /// <summary>Each dashboard file's template variables by name.</summary>
    private static IEnumerable<(string File, Dictionary<string, JsonElement> Variables)> Variables()
    {
        foreach (var file in Repository.DashboardFiles())
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            yield return (file, document.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray()
                .ToDictionary(v => v.GetProperty("name").GetString()!, v => v.Clone()));
        }
    }

    [Fact]
    public void Selectors_QueryWithSeveralMetrics_EachWithItsMatchers()
    {
        var selectors = Repository.Selectors("sum by (le) (rate(a_b{job=\"$job\"}[5m])) / on (stage) c{x=\"1\", y=~\"$y\"} + histogram_quantile(0.5, d)").ToList();

        Assert.Equal([("a_b", "job=\"$job\""), ("c", "x=\"1\", y=~\"$y\""), ("d", string.Empty)], selectors);
    }

    [Fact]
    public void Provisioning_DatasourceAndDashboardProvider_PointAtPrometheusAndTheDashboardsFolder()
    {
        var datasources = Directory.GetFiles(Path.Combine(Repository.Dashboards, "provisioning", "datasources"), "*.yml");
        var providers = Directory.GetFiles(Path.Combine(Repository.Dashboards, "provisioning", "dashboards"), "*.yml");

        var datasource = File.ReadAllText(Assert.Single(datasources));
        var provider = File.ReadAllText(Assert.Single(providers));
        Assert.Contains("apiVersion: 1", datasource, StringComparison.Ordinal);
        Assert.Contains("type: prometheus", datasource, StringComparison.Ordinal);
        Assert.Contains("url: http://127.0.0.1:9090", datasource, StringComparison.Ordinal);
        Assert.Contains("apiVersion: 1", provider, StringComparison.Ordinal);
        Assert.Contains("type: file", provider, StringComparison.Ordinal);
        Assert.Contains("path: ${STREAMINGLOADER_DASHBOARDS}", provider, StringComparison.Ordinal);
    }

    [Fact]
    public void Readme_HowToRun_MentionsPrometheusGrafanaAndProvisioning()
    {
        var readme = File.ReadAllText(Path.Combine(Repository.Dashboards, "README.md"));

        Assert.Contains("prometheus --config.file=prometheus.yml", readme, StringComparison.Ordinal);
        Assert.Contains("GF_PATHS_PROVISIONING", readme, StringComparison.Ordinal);
        Assert.Contains("PrometheusMetricsServer.StartAsync", readme, StringComparison.Ordinal);
    }
}
