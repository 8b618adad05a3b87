using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Reflection;
using StreamingLoader.Telemetry;

namespace StreamingLoader.RabbitMQ.Internal;

/// <summary>
/// The <c>streamingloader.source.queue_ready</c> gauge: messages waiting in each consumed queue, a trainer's backlog.
/// Its meter has the core's name, so collecting the <c>StreamingLoader</c> meter collects it too.
/// </summary>
internal static class QueueMetrics
{
    private static readonly ConcurrentDictionary<RabbitMqSource, byte> Sources = new();

    private static readonly Meter Meter = new(
        LoaderMetrics.MeterName,
        typeof(QueueMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0");

    static QueueMetrics() =>
        Meter.CreateObservableGauge("streamingloader.source.queue_ready", Observe, "{message}", "Messages ready in a consumed queue, not yet delivered to any consumer.");

    public static void Track(RabbitMqSource source) => Sources.TryAdd(source, 0);

    public static void Untrack(RabbitMqSource source) => Sources.TryRemove(source, out _);

    private static IEnumerable<Measurement<long>> Observe()
    {
        foreach (var source in Sources.Keys)
        {
            if (source.MessagesReady is >= 0 and var ready)
            {
                yield return new Measurement<long>(ready, new KeyValuePair<string, object?>("queue", source.Options.Queue));
            }
        }
    }
}
