using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;

namespace StreamingLoader.Prometheus;

/// <summary>The package's log messages (source-generated, no allocation when the level is off).</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "StreamingLoader metrics endpoint listening on {Uri}")]
    public static partial void ServerStarted(ILogger logger, Uri uri);

    [LoggerMessage(2, LogLevel.Error, "A metrics scrape failed; the endpoint answered 500 and training goes on")]
    public static partial void ScrapeFailed(ILogger logger, Exception exception);

    [LoggerMessage(3, LogLevel.Warning, "Metric {Metric} could not be serialized and is left out of scrapes")]
    public static partial void MetricSkipped(ILogger logger, string metric, Exception exception);

    [LoggerMessage(4, LogLevel.Warning, "Metric {Metric} of type {Type} has no Prometheus mapping and is left out of scrapes")]
    public static partial void UnsupportedMetric(ILogger logger, string metric, MetricType type);

    [LoggerMessage(5, LogLevel.Warning, "Metric {Metric} maps to Prometheus family {Family}, already taken by a metric of another type; it is left out of scrapes")]
    public static partial void FamilyConflict(ILogger logger, string metric, string family);

    [LoggerMessage(6, LogLevel.Warning, "Stopping the metrics endpoint failed")]
    public static partial void StopFailed(ILogger logger, Exception exception);

    [LoggerMessage(7, LogLevel.Debug, "A metrics scrape response could not be written (the client went away)")]
    public static partial void ResponseAborted(ILogger logger, Exception exception);
}
