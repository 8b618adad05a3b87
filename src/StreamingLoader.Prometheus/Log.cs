using Microsoft.Extensions.Logging;

namespace StreamingLoader.Prometheus;

/// <summary>The package's log messages (source-generated, no allocation when the level is off).</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "StreamingLoader metrics endpoint listening on {Uri}")]
    public static partial void ServerStarted(ILogger logger, Uri uri);

    [LoggerMessage(EventId = 2, Message = "{Source}: {Message}")]
    public static partial void OpenTelemetryEvent(ILogger logger, LogLevel level, string source, string message);

    [LoggerMessage(6, LogLevel.Warning, "Stopping the metrics endpoint failed")]
    public static partial void StopFailed(ILogger logger, Exception exception);
}
