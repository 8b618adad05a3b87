namespace StreamingLoader.Internal;

/// <summary>What a live pipeline reports to the observable instruments.</summary>
internal interface IMetricsSource
{
    string Name { get; }

    long PoolLeases { get; }

    long PoolCapacity { get; }

    /// <summary>Gets the batch buffers handed to the consumer and not yet disposed.</summary>
    long PoolHeld { get; }

    PipelineCounters Counters { get; }

    /// <summary>Gets the workers, prefetch, pool and memory now and the autotuner's last reason ("fixed" when nothing is tuned).</summary>
    Telemetry.AutotuneStatus Tuning { get; }

    IEnumerable<(PipelineStage Stage, int Depth)> QueueDepths();

    /// <summary>
    /// Each stage's workers and input-queue capacity, for utilisation (busy time ÷ workers) and queue fill
    /// (depth ÷ capacity), as its blocks were built.
    /// </summary>
    IEnumerable<StageShape> StageShapes();
}
