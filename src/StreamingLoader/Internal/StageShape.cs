using StreamingLoader.Internal;

namespace StreamingLoader.Internal;

/// <summary>A stage's parallelism and input-queue size, as the <c>stage.workers</c> and <c>stage.queue_capacity</c> gauges report them.</summary>
/// <param name="Stage">The stage.</param>
/// <param name="Workers">Messages it works on at once; 0 for a stage that does no work of its own (prefetch).</param>
/// <param name="QueueCapacity">Messages its input queue holds when full; 0 for a stage without an input queue (source).</param>
internal readonly record struct StageShape(PipelineStage Stage, int Workers, int QueueCapacity)
{

    /// <summary>
    /// The shapes of a loader's stages from its options, for a pipeline that does not report its own: the source
    /// has one producer, the shuffle buffer one worker, the other stages <see cref="LoaderOptions.Workers"/> workers
    /// and 2 × workers queued messages (at least 2, at most the pool), prefetch <see cref="LoaderOptions.Prefetch"/>.
    /// </summary>
    /// <summary>
    /// The shapes of a pipeline whose parallel blocks run <paramref name="workers"/> messages at once and queue up to
    /// <paramref name="capacity"/>, with a prefetch queue of <paramref name="prefetch"/> batches.
    /// </summary>
    public static IEnumerable<StageShape> Of(IMetricsSource source, int workers, int capacity, int prefetch)
    {
        // Stages that share one block (read, transform and collate without a shuffle buffer) share its workers;
        // only the block's first stage has the input queue.
        var queued = source.QueueDepths().Select(q => q.Stage).ToHashSet();
        var stages = source.Counters.Stages.Select(s => s.Key).Union(queued).Order();
        foreach (var stage in stages)
        {
            var queue = queued.Contains(stage) ? (stage == PipelineStage.Prefetch ? prefetch : capacity) : 0;
            yield return stage switch
            {
                PipelineStage.Source or PipelineStage.Shuffle => new StageShape(stage, 1, queue),
                PipelineStage.Prefetch => new StageShape(stage, 0, queue),
                _ => new StageShape(stage, workers, queue),
            };
        }
    }
}
