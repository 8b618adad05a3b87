using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace StreamingLoader.Internal;

/// <summary>
/// The <c>streamingloader.source.backlog</c> gauge: for each file being followed, the bytes written to it that the
/// tail has not read yet (a partial last line included), so a dashboard shows a trainer falling behind its producer.
/// </summary>
internal static class TailBacklog
{
    /// <summary>Tag key: the followed path.</summary>
    public const string SourceTag = "source";

    private static readonly ConcurrentDictionary<TailCursor, byte> Cursors = new();

    static TailBacklog() =>
        LoaderMetrics.Meter.CreateObservableGauge("streamingloader.source.backlog", Observe, "By", "Bytes written to a followed file and not read yet.");

    public static void Track(TailCursor cursor) => Cursors.TryAdd(cursor, 0);

    public static void Untrack(TailCursor cursor) => Cursors.TryRemove(cursor, out _);

    private static IEnumerable<Measurement<long>> Observe()
    {
        foreach (var cursor in Cursors.Keys)
        {
            if (cursor.Backlog() is { } bytes)
            {
                yield return new Measurement<long>(bytes, new KeyValuePair<string, object?>(SourceTag, cursor.FollowedPath));
            }
        }
    }
}
