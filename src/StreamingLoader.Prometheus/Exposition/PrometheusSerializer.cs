using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace StreamingLoader.Prometheus.Exposition;

/// <summary>
/// Writes OpenTelemetry metrics (cumulative temporality) as Prometheus text exposition 0.0.4 or OpenMetrics 1.0.
/// Counters become <c>counter</c> with <c>_total</c>; up-down counters and gauges become <c>gauge</c>; explicit-bucket
/// histograms become <c>histogram</c> with cumulative <c>_bucket</c> lines up to <c>le="+Inf"</c>, <c>_sum</c> and
/// <c>_count</c>. Names, units and labels follow <see cref="PrometheusNaming"/>. A metric that fails to serialize is
/// left out of the scrape (and logged once); the rest of the scrape is still served.
/// </summary>
/// <remarks>Not thread-safe: one scrape at a time (the collector serializes scrapes).</remarks>
internal sealed class PrometheusSerializer
{
    private readonly ILogger _logger;
    private readonly Dictionary<Metric, MetricShape> _shapes = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, string> _labelNames = new(StringComparer.Ordinal);
    private readonly HashSet<Metric> _reported = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, Family> _familyIndex = new(StringComparer.Ordinal);
    private readonly List<Family> _families = [];
    private readonly List<Family> _familyPool = [];
    private readonly List<Label> _scratchLabels = [];
    private readonly ByteBuffer _labelBlock = new(1024);
    private Metric? _writing;

    public PrometheusSerializer(ILogger logger) => _logger = logger;

    /// <summary>Appends the exposition of <paramref name="metrics"/> to <paramref name="output"/>.</summary>
    public void Write(IReadOnlyList<Metric> metrics, ExpositionFormat format, ByteBuffer output)
    {
        GroupIntoFamilies(metrics, format);
        try
        {
            foreach (var family in _families)
            {
                var start = output.Length;
                try
                {
                    WriteFamily(family, format, output);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // Take the whole family back so the scrape stays well-formed, and say which metric broke it.
                    output.Truncate(start);
                    var metric = _writing ?? family.Metrics[0];
                    if (_reported.Add(metric))
                    {
                        Log.MetricSkipped(_logger, metric.Name, ex);
                    }
                }
                finally
                {
                    _writing = null;
                }
            }
        }
        finally
        {
            ReturnFamilies();
        }

        if (format == ExpositionFormat.OpenMetrics)
        {
            output.Write("# EOF\n"u8);
        }
    }

    private void GroupIntoFamilies(IReadOnlyList<Metric> metrics, ExpositionFormat format)
    {
        foreach (var metric in metrics)
        {
            MetricShape shape;
            try
            {
                shape = GetShape(metric);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                if (_reported.Add(metric))
                {
                    Log.MetricSkipped(_logger, metric.Name, ex);
                }

                continue;
            }

            if (shape.Kind == MetricKind.Unsupported)
            {
                if (_reported.Add(metric))
                {
                    Log.UnsupportedMetric(_logger, metric.Name, metric.MetricType);
                }

                continue;
            }

            var name = format == ExpositionFormat.OpenMetrics ? shape.OpenMetricsFamily : shape.TextFamily;
            if (_familyIndex.TryGetValue(name, out var family))
            {
                if (family.Shape.Kind != shape.Kind)
                {
                    if (_reported.Add(metric))
                    {
                        Log.FamilyConflict(_logger, metric.Name, name);
                    }

                    continue;
                }

                family.Metrics.Add(metric);
                continue;
            }

            family = RentFamily();
            family.Name = name;
            family.Shape = shape;
            family.Metrics.Add(metric);
            _familyIndex.Add(name, family);
            _families.Add(family);
        }
    }

    private void WriteFamily(Family family, ExpositionFormat format, ByteBuffer output)
    {
        var headerWritten = false;
        foreach (var metric in family.Metrics)
        {
            _writing = metric;
            var shape = _shapes[metric];
            foreach (ref readonly var point in metric.GetMetricPoints())
            {
                if (!headerWritten)
                {
                    WriteHeader(family.Name, family.Shape, format, output);
                    headerWritten = true;
                }

                WriteLabelBlock(point.Tags);
                switch (shape.Kind)
                {
                    case MetricKind.Counter:
                        WriteSampleName(output, format == ExpositionFormat.OpenMetrics ? shape.OpenMetricsSample : shape.TextFamily, suffix: default);
                        WriteLabels(output, le: double.NaN, withLe: false);
                        output.Write((byte)' ');
                        if (shape.IsLong)
                        {
                            output.Write(point.GetSumLong());
                        }
                        else
                        {
                            output.Write(point.GetSumDouble());
                        }

                        output.Write((byte)'\n');
                        break;

                    case MetricKind.Gauge:
                        WriteSampleName(output, family.Name, suffix: default);
                        WriteLabels(output, le: double.NaN, withLe: false);
                        output.Write((byte)' ');
                        WriteGaugeValue(output, metric.MetricType, point);
                        output.Write((byte)'\n');
                        break;

                    case MetricKind.Histogram:
                        WriteHistogram(output, family.Name, point);
                        break;

                    case MetricKind.Unsupported:
                    default:
                        break;
                }
            }
        }
    }

    private void WriteHistogram(ByteBuffer output, string name, in MetricPoint point)
    {
        long cumulative = 0;
        foreach (var bucket in point.GetHistogramBuckets())
        {
            cumulative += bucket.BucketCount;
            WriteSampleName(output, name, "_bucket"u8);
            WriteLabels(output, bucket.ExplicitBound, withLe: true);
            output.Write((byte)' ');
            output.Write(cumulative);
            output.Write((byte)'\n');
        }

        WriteSampleName(output, name, "_sum"u8);
        WriteLabels(output, le: double.NaN, withLe: false);
        output.Write((byte)' ');
        output.Write(point.GetHistogramSum());
        output.Write((byte)'\n');

        WriteSampleName(output, name, "_count"u8);
        WriteLabels(output, le: double.NaN, withLe: false);
        output.Write((byte)' ');
        output.Write(point.GetHistogramCount());
        output.Write((byte)'\n');
    }

    private static void WriteGaugeValue(ByteBuffer output, MetricType type, in MetricPoint point)
    {
        switch (type)
        {
            case MetricType.LongGauge:
                output.Write(point.GetGaugeLastValueLong());
                break;
            case MetricType.DoubleGauge:
                output.Write(point.GetGaugeLastValueDouble());
                break;
            case MetricType.LongSumNonMonotonic:
                output.Write(point.GetSumLong());
                break;
            case MetricType.DoubleSumNonMonotonic:
                output.Write(point.GetSumDouble());
                break;
            default:
                throw new InvalidOperationException($"Metric type {type} is not a gauge.");
        }
    }

    private static void WriteHeader(string name, MetricShape shape, ExpositionFormat format, ByteBuffer output)
    {
        var help = format == ExpositionFormat.OpenMetrics ? shape.OpenMetricsHelp : shape.TextHelp;
        if (help is not null)
        {
            output.Write("# HELP "u8);
            output.WriteUtf8(name);
            output.Write((byte)' ');
            output.WriteUtf8(help);
            output.Write((byte)'\n');
        }

        output.Write("# TYPE "u8);
        output.WriteUtf8(name);
        output.Write(shape.Kind switch
        {
            MetricKind.Counter => " counter\n"u8,
            MetricKind.Histogram => " histogram\n"u8,
            _ => " gauge\n"u8,
        });

        if (format == ExpositionFormat.OpenMetrics && shape.Unit is not null)
        {
            output.Write("# UNIT "u8);
            output.WriteUtf8(name);
            output.Write((byte)' ');
            output.WriteUtf8(shape.Unit);
            output.Write((byte)'\n');
        }
    }

    private static void WriteSampleName(ByteBuffer output, string name, ReadOnlySpan<byte> suffix)
    {
        output.WriteUtf8(name);
        output.Write(suffix);
    }

    /// <summary>Writes <c>{labels}</c> from the current label block, with an <c>le</c> label for a bucket.</summary>
    private void WriteLabels(ByteBuffer output, double le, bool withLe)
    {
        var block = _labelBlock.WrittenSpan;
        if (block.Length == 0 && !withLe)
        {
            return;
        }

        output.Write((byte)'{');
        output.Write(block);
        if (withLe)
        {
            if (block.Length > 0)
            {
                output.Write((byte)',');
            }

            output.Write("le=\""u8);
            output.Write(le);
            output.Write((byte)'"');
        }

        output.Write((byte)'}');
    }

    /// <summary>Renders a point's tags as <c>a="x",b="y"</c> into the label block, once per point.</summary>
    private void WriteLabelBlock(ReadOnlyTagCollection tags)
    {
        _labelBlock.Clear();
        if (tags.Count == 0)
        {
            return;
        }

        var labels = _scratchLabels;
        labels.Clear();
        var collision = false;
        foreach (var tag in tags)
        {
            var name = LabelName(tag.Key);
            for (var i = 0; i < labels.Count && !collision; i++)
            {
                collision = labels[i].Name == name;
            }

            labels.Add(new Label(name, tag.Key, TagValue(tag.Value)));
        }

        if (collision)
        {
            MergeCollidingLabels(labels);
        }

        for (var i = 0; i < labels.Count; i++)
        {
            if (i > 0)
            {
                _labelBlock.Write((byte)',');
            }

            _labelBlock.WriteUtf8(labels[i].Name);
            _labelBlock.Write("=\""u8);
            WriteEscapedLabelValue(_labelBlock, labels[i].Value);
            _labelBlock.Write((byte)'"');
        }
    }

    /// <summary>
    /// Two keys that sanitize to one label name (<c>a.b</c> and <c>a_b</c>) become one label whose value is the
    /// original values joined with <c>;</c>, ordered by original key, as the compatibility specification says.
    /// </summary>
    private static void MergeCollidingLabels(List<Label> labels)
    {
        labels.Sort(static (x, y) =>
        {
            var byName = string.CompareOrdinal(x.Name, y.Name);
            return byName != 0 ? byName : string.CompareOrdinal(x.Key, y.Key);
        });

        var write = 0;
        for (var read = 0; read < labels.Count; read++)
        {
            if (write > 0 && labels[write - 1].Name == labels[read].Name)
            {
                var previous = labels[write - 1];
                labels[write - 1] = previous with { Value = previous.Value + ";" + labels[read].Value };
            }
            else
            {
                labels[write++] = labels[read];
            }
        }

        labels.RemoveRange(write, labels.Count - write);
    }

    private string LabelName(string key)
    {
        if (!_labelNames.TryGetValue(key, out var name))
        {
            name = PrometheusNaming.SanitizeLabelName(key);
            _labelNames[key] = name;
        }

        return name;
    }

    /// <summary>Label values escape backslash, double quote and line feed (the same in both formats).</summary>
    internal static void WriteEscapedLabelValue(ByteBuffer output, string value)
    {
        var span = value.AsSpan();
        while (true)
        {
            var special = span.IndexOfAny('\\', '"', '\n');
            if (special < 0)
            {
                output.WriteUtf8(span);
                return;
            }

            output.WriteUtf8(span[..special]);
            output.Write(span[special] switch
            {
                '\\' => "\\\\"u8,
                '"' => "\\\""u8,
                _ => "\\n"u8,
            });
            span = span[(special + 1)..];
        }
    }

    /// <summary>HELP text escapes backslash and line feed; OpenMetrics also escapes the double quote.</summary>
    internal static string EscapeHelp(string help, ExpositionFormat format)
    {
        var builder = new StringBuilder(help.Length + 8);
        foreach (var c in help)
        {
            switch (c)
            {
                case '\\':
                    builder.Append(@"\\");
                    break;
                case '\n':
                    builder.Append(@"\n");
                    break;
                case '"' when format == ExpositionFormat.OpenMetrics:
                    builder.Append("\\\"");
                    break;
                default:
                    builder.Append(c);
                    break;
            }
        }

        return builder.ToString();
    }

    internal static string TagValue(object? value) => value switch
    {
        null => string.Empty,
        string text => text,
        bool flag => flag ? "true" : "false",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        Array array => ArrayValue(array),
        _ => value.ToString() ?? string.Empty,
    };

    /// <summary>Array-valued attributes render as a JSON array, as the compatibility specification says.</summary>
    private static string ArrayValue(Array array)
    {
        var builder = new StringBuilder("[");
        var first = true;
        foreach (var item in array)
        {
            if (!first)
            {
                builder.Append(',');
            }

            first = false;
            if (item is string text)
            {
                builder.Append('"').Append(text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)).Append('"');
            }
            else if (item is null)
            {
                builder.Append("null");
            }
            else
            {
                builder.Append(TagValue(item));
            }
        }

        return builder.Append(']').ToString();
    }

    private MetricShape GetShape(Metric metric)
    {
        if (!_shapes.TryGetValue(metric, out var shape))
        {
            shape = MetricShape.Create(metric);
            _shapes.Add(metric, shape);
        }

        return shape;
    }

    private Family RentFamily()
    {
        if (_familyPool.Count == 0)
        {
            return new Family();
        }

        var family = _familyPool[^1];
        _familyPool.RemoveAt(_familyPool.Count - 1);
        return family;
    }

    private void ReturnFamilies()
    {
        foreach (var family in _families)
        {
            family.Metrics.Clear();
            _familyPool.Add(family);
        }

        _families.Clear();
        _familyIndex.Clear();
    }

    private readonly record struct Label(string Name, string Key, string Value);

    private sealed class Family
    {
        public string Name { get; set; } = string.Empty;

        public MetricShape Shape { get; set; } = null!;

        public List<Metric> Metrics { get; } = [];
    }
}

/// <summary>How a metric maps onto the Prometheus data model.</summary>
internal enum MetricKind
{
    Unsupported,
    Counter,
    Gauge,
    Histogram,
}

/// <summary>The names and metadata of one OpenTelemetry metric in Prometheus terms, computed once per metric.</summary>
internal sealed class MetricShape
{
    private MetricShape(MetricKind kind, bool isLong, string textFamily, string openMetricsFamily, string openMetricsSample, string? unit, string? textHelp, string? openMetricsHelp)
    {
        Kind = kind;
        IsLong = isLong;
        TextFamily = textFamily;
        OpenMetricsFamily = openMetricsFamily;
        OpenMetricsSample = openMetricsSample;
        Unit = unit;
        TextHelp = textHelp;
        OpenMetricsHelp = openMetricsHelp;
    }

    public MetricKind Kind { get; }

    public bool IsLong { get; }

    /// <summary>The family name in the text format; for a counter it ends in <c>_total</c> and is also the sample name.</summary>
    public string TextFamily { get; }

    /// <summary>The family name in OpenMetrics; for a counter without <c>_total</c>.</summary>
    public string OpenMetricsFamily { get; }

    /// <summary>The sample name in OpenMetrics (a counter's ends in <c>_total</c>).</summary>
    public string OpenMetricsSample { get; }

    /// <summary>The OpenMetrics <c>UNIT</c>, present when the family name ends with it.</summary>
    public string? Unit { get; }

    public string? TextHelp { get; }

    public string? OpenMetricsHelp { get; }

    public static MetricShape Create(Metric metric)
    {
        var type = metric.MetricType;
        var kind = type switch
        {
            MetricType.LongSum or MetricType.DoubleSum => MetricKind.Counter,
            MetricType.LongGauge or MetricType.DoubleGauge or MetricType.LongSumNonMonotonic or MetricType.DoubleSumNonMonotonic => MetricKind.Gauge,
            MetricType.Histogram => MetricKind.Histogram,
            _ => MetricKind.Unsupported,
        };

        var isLong = type is MetricType.LongSum or MetricType.LongGauge or MetricType.LongSumNonMonotonic;
        var baseName = PrometheusNaming.BaseName(metric.Name, metric.Unit, isGauge: kind == MetricKind.Gauge);
        var unitSuffix = PrometheusNaming.UnitSuffix(metric.Unit, isGauge: kind == MetricKind.Gauge);

        string textFamily;
        string openMetricsFamily;
        string openMetricsSample;
        if (kind == MetricKind.Counter)
        {
            openMetricsFamily = baseName.EndsWith("_total", StringComparison.Ordinal) && baseName.Length > "_total".Length
                ? baseName[..^"_total".Length]
                : baseName;
            textFamily = openMetricsFamily + "_total";
            openMetricsSample = textFamily;
        }
        else
        {
            textFamily = baseName;
            openMetricsFamily = baseName;
            openMetricsSample = baseName;
        }

        var unit = unitSuffix.Length > 0 && (openMetricsFamily == unitSuffix || openMetricsFamily.EndsWith("_" + unitSuffix, StringComparison.Ordinal))
            ? unitSuffix
            : null;

        var description = metric.Description;
        var textHelp = string.IsNullOrEmpty(description) ? null : PrometheusSerializer.EscapeHelp(description, ExpositionFormat.PrometheusText);
        var openMetricsHelp = string.IsNullOrEmpty(description) ? null : PrometheusSerializer.EscapeHelp(description, ExpositionFormat.OpenMetrics);
        return new MetricShape(kind, isLong, textFamily, openMetricsFamily, openMetricsSample, unit, textHelp, openMetricsHelp);
    }
}
