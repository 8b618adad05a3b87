using System.Diagnostics.Tracing;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace StreamingLoader.Prometheus.Hosting;

/// <summary>
/// Forwards OpenTelemetry's own warnings and errors (a failed scrape, an observable callback that threw, a metric
/// left out), which the SDK and the exporter report through event sources, to the server's logger.
/// </summary>
/// <remarks>Event listeners see the whole process: OpenTelemetry events of other providers in it are forwarded too.</remarks>
internal sealed class OpenTelemetryEventLogger : EventListener
{
    private const string SourcePrefix = "OpenTelemetry-";

    // Assigned after the base constructor, which may already report existing sources (and their events).
    private readonly ILogger? _logger;

    public OpenTelemetryEventLogger(ILogger logger) => _logger = logger;

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name.StartsWith(SourcePrefix, StringComparison.Ordinal))
        {
            EnableEvents(eventSource, EventLevel.Warning);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (_logger is not { } logger || !eventData.EventSource.Name.StartsWith(SourcePrefix, StringComparison.Ordinal))
        {
            return;
        }

        var level = eventData.Level is EventLevel.Critical or EventLevel.Error ? LogLevel.Error : LogLevel.Warning;
        var message = eventData.Message is { Length: > 0 } format && eventData.Payload is { } payload
            ? string.Format(CultureInfo.InvariantCulture, format, [.. payload])
            : eventData.EventName ?? eventData.EventId.ToString(CultureInfo.InvariantCulture);
        Log.OpenTelemetryEvent(logger, level, eventData.EventSource.Name, message);
    }
}
