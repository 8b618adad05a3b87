using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace StreamingLoader.Prometheus.Tests.Infrastructure;

/// <summary>One panel query with Grafana's variables substituted.</summary>
internal sealed record DashboardQuery(string Dashboard, string Panel, string RefId, string Promql, string? NoValue)
{
    public override string ToString() => new StringBuilder().Append(Dashboard).Append(" / ").Append(Panel).Append(" / ").Append(RefId).Append(": ").Append(Promql).ToString();
}

/// <summary>The dashboards' queries as Grafana would send them to a real Prometheus, for one job and instance.</summary>
internal static class DashboardQueries
{
    /// <summary>
    /// Every panel query with the variables substituted as Grafana would for the given job and instance (multi-value
    /// variables as "All", or as given in <paramref name="overrides"/>).
    /// </summary>
    public static async Task<List<DashboardQuery>> ForAsync(PrometheusProcess prometheus, string job, string instance, IReadOnlyDictionary<string, string>? overrides = null)
    {
        var queries = new List<DashboardQuery>();
        foreach (var file in Repository.DashboardFiles())
        {
            using var document = JsonDocument.Parse(await File.ReadAllTextAsync(file));
            var values = (await ResolveVariablesAsync(prometheus, document.RootElement, job, instance))
                .ToDictionary(v => v.Key, v => v.Key is "job" ? job : v.Key is "instance" ? instance : Repository.AllValue(v.Value), StringComparer.Ordinal);
            values["datasource"] = "prometheus";
            foreach (var (name, value) in overrides ?? new Dictionary<string, string>())
            {
                values[name] = value;
            }

            foreach (var panel in Repository.Panels(document.RootElement))
            {
                var noValue = panel.TryGetProperty("fieldConfig", out var config) && config.GetProperty("defaults").TryGetProperty("noValue", out var text) ? text.GetString() : null;
                foreach (var (title, refId, expr) in Repository.Queries(panel, nested: false))
                {
                    var promql = Repository.Substitute(expr, values);
                    Assert.DoesNotContain("$", promql, StringComparison.Ordinal);
                    queries.Add(new DashboardQuery(Path.GetFileName(file), title, refId, promql, noValue));
                }
            }
        }

        return queries;
    }

    /// <summary>
    /// Polls every panel query for one process until each returns data or does not apply, or 90 s pass; returns the
    /// queries still wrong. A query may return nothing only when its panel says why (Grafana's <c>noValue</c>) and the
    /// process has no series of any metric the query reads (a row that does not apply, such as TorchSharp's in a
    /// process that does not train with it); <paramref name="notApplicable"/> collects those.
    /// </summary>
    public static async Task<List<string>> EventuallyAllReturnDataAsync(PrometheusProcess prometheus, string job, string instance, List<string>? notApplicable = null, Action? check = null)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            check?.Invoke();
            var wrong = new List<string>();
            notApplicable?.Clear();
            foreach (var query in await ForAsync(prometheus, job, instance))
            {
                var response = await prometheus.QueryAsync(query.Promql);
                Assert.True(response.GetProperty("status").GetString() == "success", $"{query}: {response}");
                if (PrometheusProcess.Vector(response).Count > 0)
                {
                    continue;
                }

                var produced = new List<string>();
                foreach (var metric in Repository.Selectors(query.Promql).Select(s => s.Metric).Distinct())
                {
                    if (PrometheusProcess.Vector(await prometheus.QueryAsync($"count({metric}{{job=\"{job}\", instance=\"{instance}\"}})")).Count > 0)
                    {
                        produced.Add(metric);
                    }
                }

                if (query.NoValue is { Length: > 0 } && produced.Count == 0)
                {
                    notApplicable?.Add($"{query.Panel} / {query.RefId}: \"{query.NoValue}\"");
                }
                else
                {
                    wrong.Add($"{query} (no data; {(query.NoValue is null ? "no noValue text" : "series it reads exist: " + string.Join(", ", produced))})");
                }
            }

            if (wrong.Count == 0 || deadline.Elapsed > TimeSpan.FromSeconds(90))
            {
                return wrong;
            }

            await Task.Delay(500);
        }
    }

    /// <summary>
    /// The values of each query variable, resolved in order as Grafana does: <c>label_values(selector, label)</c> with
    /// the variables before it substituted (job and instance as given, multi-value ones as "All").
    /// </summary>
    public static async Task<Dictionary<string, IReadOnlyList<string>>> ResolveVariablesAsync(PrometheusProcess prometheus, JsonElement dashboard, string job, string instance)
    {
        var found = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var values = new Dictionary<string, string>(StringComparer.Ordinal) { ["datasource"] = "prometheus" };
        foreach (var variable in dashboard.GetProperty("templating").GetProperty("list").EnumerateArray())
        {
            if (variable.GetProperty("type").GetString() != "query")
            {
                continue;
            }

            var name = variable.GetProperty("name").GetString()!;
            var definition = variable.GetProperty("definition").GetString()!;
            var match = Regex.Match(definition, @"^label_values\((?<selector>.+),\s*(?<label>\w+)\)$");
            Assert.True(match.Success, $"variable {name}: '{definition}' is not label_values(selector, label)");
            var label = match.Groups["label"].Value;
            var series = await prometheus.SeriesAsync(Repository.Substitute(match.Groups["selector"].Value, values));
            var labelValues = series.Where(s => s.ContainsKey(label)).Select(s => s[label]).Distinct().Order(StringComparer.Ordinal).ToList();
            found[name] = labelValues;
            values[name] = name switch
            {
                "job" => job,
                "instance" => instance,
                _ => Repository.AllValue(labelValues),
            };
        }

        return found;
    }
}
