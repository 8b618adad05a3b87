using System.Text.Json;
using System.Text.RegularExpressions;

namespace StreamingLoader.Prometheus.Tests.Infrastructure;

/// <summary>Files of the repository the tests run from: <c>prometheus.yml</c> and <c>dashboards/</c>.</summary>
internal static partial class Repository
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    public static string Root => RootPath.Value;

    public static string PrometheusConfig => Path.Combine(Root, "prometheus.yml");

    public static string Dashboards => Path.Combine(Root, "dashboards");

    /// <summary>
    /// What the tests substitute for <c>$__rate_interval</c>: Grafana makes it at least 4 × the scrape interval; the
    /// tests scrape every second, so 10 s holds ten scrapes.
    /// </summary>
    public const string RateInterval = "10s";

    /// <summary>The dashboard JSON files (every *.json under dashboards/).</summary>
    public static IReadOnlyList<string> DashboardFiles() =>
        [.. Directory.EnumerateFiles(Dashboards, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal)];

    /// <summary>
    /// The repository's prometheus.yml with its scrape target moved to <paramref name="metricsPort"/> and its
    /// 5 s interval and timeout shortened to <paramref name="scrapeSeconds"/>; fails if the file no longer has them.
    /// </summary>
    public static string PrometheusConfigFor(int metricsPort, int scrapeSeconds = 1, string? rules = null)
    {
        var text = File.ReadAllText(PrometheusConfig);
        text = ReplaceOnce(text, "127.0.0.1:9464", $"127.0.0.1:{metricsPort}");
        text = ReplaceOnce(text, "scrape_interval: 5s", $"scrape_interval: {scrapeSeconds}s");
        text = ReplaceOnce(text, "scrape_timeout: 5s", $"scrape_timeout: {scrapeSeconds}s");
        text = ReplaceOnce(text, "evaluation_interval: 15s", $"evaluation_interval: {scrapeSeconds}s");

        // The rules file is named relative to prometheus.yml's folder; the test's copy of the config lives elsewhere.
        text = ReplaceOnce(text, "- dashboards/alerts.yml", "- " + (rules ?? Alerts));
        return text;
    }

    /// <summary>The alerting rules, <c>dashboards/alerts.yml</c>.</summary>
    public static string Alerts => Path.Combine(Dashboards, "alerts.yml");

    /// <summary>
    /// Writes a copy of the alerting rules into <paramref name="folder"/> with every rate window shortened to
    /// <see cref="RateInterval"/> and every <c>for:</c> to 1 s, so a test sees an alert fire in seconds; returns its path.
    /// The expressions are otherwise the shipped ones.
    /// </summary>
    public static string FastAlertsCopy(string folder)
    {
        var text = File.ReadAllText(Alerts);
        if (!text.Contains("[5m]", StringComparison.Ordinal) || !ForPattern().IsMatch(text))
        {
            throw new InvalidOperationException("dashboards/alerts.yml should use [5m] windows and for: durations.");
        }

        var path = Path.Combine(folder, "alerts.fast.yml");
        File.WriteAllText(path, ForPattern().Replace(text.Replace("[5m]", $"[{RateInterval}]", StringComparison.Ordinal), "for: 1s"));
        return path;
    }

    /// <summary>Every panel (rows' nested panels included) of a dashboard.</summary>
    public static IEnumerable<JsonElement> Panels(JsonElement dashboard)
    {
        if (!dashboard.TryGetProperty("panels", out var panels))
        {
            yield break;
        }

        foreach (var panel in panels.EnumerateArray())
        {
            yield return panel;
            foreach (var nested in Panels(panel))
            {
                yield return nested;
            }
        }
    }

    /// <summary>Every PromQL expression of a dashboard (or, not <paramref name="nested"/>, of one panel): (panel title, refId, expr).</summary>
    public static IEnumerable<(string Panel, string RefId, string Expr)> Queries(JsonElement dashboard, bool nested = true)
    {
        foreach (var panel in nested ? Panels(dashboard) : [dashboard])
        {
            if (!panel.TryGetProperty("targets", out var targets))
            {
                continue;
            }

            var title = panel.TryGetProperty("title", out var t) ? t.GetString() ?? string.Empty : string.Empty;
            foreach (var target in targets.EnumerateArray())
            {
                if (target.TryGetProperty("expr", out var expr) && !string.IsNullOrWhiteSpace(expr.GetString()))
                {
                    yield return (title, target.TryGetProperty("refId", out var r) ? r.GetString() ?? string.Empty : string.Empty, expr.GetString()!);
                }
            }
        }
    }

    /// <summary>
    /// The series selectors of a PromQL expression: each metric name with its matchers (empty when it has none).
    /// Function names, aggregation operators and keywords are not metrics; a bare name followed by <c>(</c> is a call.
    /// </summary>
    public static IEnumerable<(string Metric, string Matchers)> Selectors(string promql)
    {
        var withoutLabelLists = LabelListPattern().Replace(promql, string.Empty);
        foreach (Match match in SelectorPattern().Matches(withoutLabelLists))
        {
            var name = match.Groups["name"].Value;
            if (match.Groups["call"].Success || PromqlKeywords.Contains(name))
            {
                continue;
            }

            yield return (name, match.Groups["matchers"].Success ? match.Groups["matchers"].Value : string.Empty);
        }
    }

    /// <summary>
    /// Substitutes Grafana variables the way Grafana would before sending a query: template variables
    /// (<c>$name</c>, <c>${name}</c>, <c>${name:regex}</c>, <c>[[name]]</c>) from <paramref name="values"/>, and the
    /// built-ins <c>$__rate_interval</c>, <c>$__interval</c>, <c>$__range</c>.
    /// </summary>
    public static string Substitute(string expr, IReadOnlyDictionary<string, string> values)
    {
        var builtIns = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["__rate_interval"] = RateInterval,
            ["__interval"] = "2s",
            ["__interval_ms"] = "2000",
            ["__range"] = "5m",
            ["__range_s"] = "300",
            ["__range_ms"] = "300000",
        };

        return VariablePattern().Replace(expr, match =>
        {
            var name = match.Groups["braced"].Success ? match.Groups["braced"].Value
                : match.Groups["bracketed"].Success ? match.Groups["bracketed"].Value
                : match.Groups["plain"].Value;
            if (builtIns.TryGetValue(name, out var builtIn))
            {
                return builtIn;
            }

            return values.TryGetValue(name, out var value)
                ? value
                : throw new InvalidOperationException($"The query uses variable '{name}', which the dashboard does not define: {expr}");
        });
    }

    /// <summary>
    /// The value Grafana substitutes for "All" of a multi-value variable without an <c>allValue</c>: a regex that
    /// matches exactly the variable's values.
    /// </summary>
    public static string AllValue(IEnumerable<string> values) => "(" + string.Join('|', values.Select(Regex.Escape)) + ")";

    private static string ReplaceOnce(string text, string oldValue, string newValue)
    {
        var first = text.IndexOf(oldValue, StringComparison.Ordinal);
        if (first < 0 || text.IndexOf(oldValue, first + oldValue.Length, StringComparison.Ordinal) >= 0)
        {
            throw new InvalidOperationException($"prometheus.yml should contain '{oldValue}' exactly once.");
        }

        return string.Concat(text.AsSpan(0, first), newValue, text.AsSpan(first + oldValue.Length));
    }

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "prometheus.yml")) && Directory.Exists(Path.Combine(directory.FullName, "dashboards")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No repository root (with prometheus.yml and dashboards/) above {AppContext.BaseDirectory}.");
    }

    private static readonly HashSet<string> PromqlKeywords = new(StringComparer.Ordinal) { "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset" };

    // "by (pipeline, stage)", "on (...)": label lists, not selectors.
    [GeneratedRegex(@"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")]
    private static partial Regex LabelListPattern();

    // A name not inside quotes, then either "(" (a function call) or an optional "{matchers}".
    [GeneratedRegex(@"(?<![\w""$.])(?<name>[a-zA-Z_:][\w:]*)(?![\w:""])(?:(?<call>\s*\()|\{(?<matchers>[^}]*)\})?")]
    private static partial Regex SelectorPattern();

    [GeneratedRegex(@"for: \d+m")]
    private static partial Regex ForPattern();

    [GeneratedRegex(@"\$\{(?<braced>\w+)(?::\w+)?\}|\[\[(?<bracketed>\w+)\]\]|\$(?<plain>\w+)")]
    private static partial Regex VariablePattern();
}
