using System.Text;

namespace StreamingLoader.Prometheus.Exposition;

/// <summary>
/// OpenTelemetry → Prometheus name translation, after the OpenTelemetry "Prometheus and OpenMetrics compatibility"
/// specification: invalid characters become <c>_</c> (runs of <c>_</c> collapse to one), the unit becomes a suffix
/// (<c>s</c> → <c>_seconds</c>, <c>By</c> → <c>_bytes</c>, <c>{annotations}</c> dropped, <c>a/b</c> → <c>_a_per_b</c>)
/// unless the name already ends with it, and monotonic counters end in <c>_total</c>.
/// </summary>
internal static class PrometheusNaming
{
    private static readonly Dictionary<string, string> Units = new(StringComparer.Ordinal)
    {
        // time
        ["d"] = "days",
        ["h"] = "hours",
        ["min"] = "minutes",
        ["s"] = "seconds",
        ["ms"] = "milliseconds",
        ["us"] = "microseconds",
        ["ns"] = "nanoseconds",

        // bytes
        ["By"] = "bytes",
        ["KiBy"] = "kibibytes",
        ["MiBy"] = "mebibytes",
        ["GiBy"] = "gibibytes",
        ["TiBy"] = "tibibytes",
        ["KBy"] = "kilobytes",
        ["MBy"] = "megabytes",
        ["GBy"] = "gigabytes",
        ["TBy"] = "terabytes",

        // SI
        ["m"] = "meters",
        ["V"] = "volts",
        ["A"] = "amperes",
        ["J"] = "joules",
        ["W"] = "watts",
        ["g"] = "grams",

        // misc
        ["Cel"] = "celsius",
        ["Hz"] = "hertz",
        ["%"] = "percent",
        ["$"] = "dollars",
    };

    private static readonly Dictionary<string, string> PerUnits = new(StringComparer.Ordinal)
    {
        ["s"] = "second",
        ["m"] = "minute",
        ["h"] = "hour",
        ["d"] = "day",
        ["w"] = "week",
        ["mo"] = "month",
        ["y"] = "year",
    };

    /// <summary>
    /// The Prometheus base name of an instrument: sanitized name plus unit suffix, without <c>_total</c>.
    /// </summary>
    /// <param name="name">The instrument's name, e.g. <c>streamingloader.stage.blocked</c>.</param>
    /// <param name="unit">The instrument's UCUM unit, e.g. <c>s</c>, <c>By</c> or <c>{sample}</c>.</param>
    /// <param name="isGauge">Whether the metric is exposed as a gauge (a unit of <c>1</c> then reads <c>_ratio</c>).</param>
    public static string BaseName(string name, string? unit, bool isGauge)
    {
        var metric = SanitizeMetricName(name);
        var suffix = UnitSuffix(unit, isGauge);
        if (suffix.Length > 0 && !EndsWithWord(metric, suffix))
        {
            metric = metric.EndsWith('_') ? metric + suffix : metric + "_" + suffix;
        }

        return metric;
    }

    /// <summary>The Prometheus suffix for a UCUM unit, or an empty string when the unit adds none.</summary>
    public static string UnitSuffix(string? unit, bool isGauge)
    {
        if (string.IsNullOrEmpty(unit))
        {
            return string.Empty;
        }

        var trimmed = RemoveAnnotations(unit).Trim();
        if (trimmed.Length == 0)
        {
            return string.Empty;
        }

        if (trimmed == "1")
        {
            return isGauge ? "ratio" : string.Empty;
        }

        var slash = trimmed.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return SanitizeUnit(Units.GetValueOrDefault(trimmed, trimmed));
        }

        var numerator = trimmed[..slash].Trim();
        var denominator = trimmed[(slash + 1)..].Trim();
        var top = numerator.Length == 0 || numerator == "1" ? string.Empty : Units.GetValueOrDefault(numerator, numerator);
        var bottom = PerUnits.GetValueOrDefault(denominator, denominator);
        if (bottom.Length == 0)
        {
            return SanitizeUnit(top);
        }

        return SanitizeUnit(top.Length == 0 ? "per_" + bottom : top + "_per_" + bottom);
    }

    /// <summary>
    /// A valid Prometheus metric name (<c>[a-zA-Z_:][a-zA-Z0-9_:]*</c>): other characters become <c>_</c>, runs of
    /// <c>_</c> collapse to one, and a leading digit gets a <c>_</c> in front.
    /// </summary>
    public static string SanitizeMetricName(string name) => Sanitize(name, allowColon: true);

    /// <summary>
    /// A valid Prometheus label name (<c>[a-zA-Z_][a-zA-Z0-9_]*</c>, not starting with the reserved <c>__</c>): other
    /// characters become <c>_</c>, a leading digit gets <c>key_</c> in front, a leading <c>__</c> gets <c>key</c>.
    /// </summary>
    public static string SanitizeLabelName(string name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "key_";
        }

        var builder = new StringBuilder(name.Length + 4);
        foreach (var c in name)
        {
            builder.Append(IsLabelChar(c) ? c : '_');
        }

        if (char.IsAsciiDigit(builder[0]))
        {
            builder.Insert(0, "key_");
        }
        else if (builder.Length > 1 && builder[0] == '_' && builder[1] == '_')
        {
            builder.Insert(0, "key");
        }

        return builder.ToString();
    }

    private static string Sanitize(string name, bool allowColon)
    {
        var builder = new StringBuilder(name.Length + 1);
        foreach (var c in name)
        {
            var valid = char.IsAsciiLetterOrDigit(c) || c == '_' || (allowColon && c == ':');
            var next = valid ? c : '_';
            if (next == '_' && builder.Length > 0 && builder[^1] == '_')
            {
                continue;
            }

            builder.Append(next);
        }

        if (builder.Length == 0)
        {
            return "_";
        }

        if (char.IsAsciiDigit(builder[0]))
        {
            builder.Insert(0, '_');
        }

        return builder.ToString();
    }

    private static string SanitizeUnit(string unit)
    {
        var sanitized = Sanitize(unit, allowColon: false).Trim('_');
        return sanitized;
    }

    private static string RemoveAnnotations(string unit)
    {
        if (!unit.Contains('{', StringComparison.Ordinal))
        {
            return unit;
        }

        var builder = new StringBuilder(unit.Length);
        var depth = 0;
        foreach (var c in unit)
        {
            if (c == '{')
            {
                depth++;
            }
            else if (c == '}' && depth > 0)
            {
                depth--;
            }
            else if (depth == 0)
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    private static bool EndsWithWord(string name, string suffix) =>
        name == suffix || (name.EndsWith(suffix, StringComparison.Ordinal) && name[name.Length - suffix.Length - 1] == '_');

    private static bool IsLabelChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';
}
