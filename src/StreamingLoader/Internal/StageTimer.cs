using System.Diagnostics;
using System.Runtime.InteropServices;

namespace StreamingLoader.Internal;

/// <summary>Records one message's pass through a stage: items in, items out, duration.</summary>
[StructLayout(LayoutKind.Auto)]
internal readonly struct StageTimer
{
    private readonly string _pipeline;
    private readonly PipelineStage _stage;
    private readonly StageCounters _counters;
    private readonly long _start;

    private StageTimer(string pipeline, PipelineStage stage, StageCounters counters, long start)
    {
        _pipeline = pipeline;
        _stage = stage;
        _counters = counters;
        _start = start;
    }

    public static StageTimer Start(string pipeline, PipelineStage stage, StageCounters counters, int itemsIn)
    {
        Interlocked.Add(ref counters.ItemsIn, itemsIn);
        return new StageTimer(pipeline, stage, counters, Stopwatch.GetTimestamp());
    }

    public void Stop(int itemsOut)
    {
        Interlocked.Add(ref _counters.ItemsOut, itemsOut);
        if (LoaderMetrics.StageDuration.Enabled)
        {
            LoaderMetrics.StageDuration.Record(Stopwatch.GetElapsedTime(_start).TotalSeconds, LoaderMetrics.StageTags(_pipeline, _stage));
        }
    }
}
