using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace StreamingLoader.Prometheus.Exposition;

/// <summary>
/// A pull-only OpenTelemetry exporter: the metric reader calls <see cref="Export"/> only inside
/// <see cref="Collect"/>, which a scrape invokes; the batch is handed to a callback while its metric points are valid.
/// </summary>
[ExportModes(ExportModes.Pull)]
internal sealed class ScrapeExporter : BaseExporter<Metric>, IPullMetricExporter
{
    private readonly List<Metric> _metrics = [];

    /// <summary>Runs a collection (set by the reader); returns whether it completed.</summary>
    public Func<int, bool>? Collect { get; set; }

    /// <summary>Receives the metrics of the collection in progress.</summary>
    public Action<IReadOnlyList<Metric>>? OnExport { get; set; }

    public override ExportResult Export(in Batch<Metric> batch)
    {
        var onExport = OnExport;
        if (onExport is null)
        {
            return ExportResult.Success;
        }

        _metrics.Clear();
        foreach (var metric in batch)
        {
            _metrics.Add(metric);
        }

        try
        {
            onExport(_metrics);
            return ExportResult.Success;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Failure = ex;
            return ExportResult.Failure;
        }
        finally
        {
            _metrics.Clear();
        }
    }

    /// <summary>The exception of the last failed export, for the scrape to log.</summary>
    public Exception? Failure { get; set; }
}
