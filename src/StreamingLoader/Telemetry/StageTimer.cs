using System.Diagnostics;
using System.Runtime.InteropServices;

namespace StreamingLoader;

/// <summary>Records one message's pass through a stage: items in, items out, duration.</summary>
[StructLayout(LayoutKind.Auto)]
internal readonly struct StageTimer
{
    private readonly TagList _tags;
    private readonly long _start;

    private StageTimer(TagList tags, long start)
    {
        _tags = tags;
        _start = start;
    }

    public static StageTimer Start(string pipeline, string stage, int itemsIn)
    {
        var tags = LoaderMetrics.StageTags(pipeline, stage);
        LoaderMetrics.StageItemsIn.Add(itemsIn, tags);
        return new StageTimer(tags, Stopwatch.GetTimestamp());
    }

    public void Stop(int itemsOut)
    {
        LoaderMetrics.StageDuration.Record(Stopwatch.GetElapsedTime(_start).TotalSeconds, _tags);
        LoaderMetrics.StageItemsOut.Add(itemsOut, _tags);
    }
}
