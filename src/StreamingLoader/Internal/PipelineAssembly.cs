namespace StreamingLoader.Internal;

/// <summary>
/// Builds a loader's pipeline from its parts: the worker steps (<see cref="ChunkProcessor{TSource, T}"/>), the
/// regroupers the options ask for, the <see cref="BlockGraph{TSource, T}"/> and the <see cref="ChunkProducer{TSource}"/>
/// of the source's kind. Nothing runs until the loader starts the producer.
/// </summary>
internal static class PipelineAssembly
{
    public static (BlockGraph<TSource, T> Graph, ChunkProducer<TSource> Producer) Build<TSource, T>(
        SourceSpec source, TransformChain<TSource, T> chain, Collator<T> collator, BatchSampler? sampler, LoaderState start, LoaderContext context)
    {
        var processor = new ChunkProcessor<TSource, T>(source, chain, collator, context);
        var firstStage = source is MapSource<TSource> ? PipelineStage.Read : chain.IsIdentity ? PipelineStage.Collate : PipelineStage.Transform;
        var regroup = Regroupers(collator, start, context, out var regroupStage);

        // The loader disposes the disposable samples its transforms made: the regroupers drop theirs, the graph tracks
        // the chunks queued between its blocks.
        var disposes = ChunkProcessor<TSource, T>.DisposesSamples(chain);
        for (var stage = regroup; stage is not null; stage = stage.Next)
        {
            stage.DisposesSamples = disposes;
        }

        var graph = new BlockGraph<TSource, T>(processor, context, firstStage, regroup, regroupStage, disposes);

        // The source reserves each chunk's buffer, unless a regroup stage makes the batches (then it reserves them).
        var reserveAtSource = regroup is null;

        // Regrouped batches depend on the whole epoch so far: a resumed source reads its epoch from the start and the
        // last regrouper passes over the batches the state says were delivered (Regrouper).
        var sourceStart = regroup is not null ? start with { NextBatch = 0, DeliveredAhead = null } : start;
        ChunkProducer<TSource> producer = source is MapSource<TSource> map
            ? new MapChunkProducer<TSource>(map.Dataset.Count, sampler!, sourceStart, context, reserveAtSource)
            : new IterableChunkProducer<TSource>((IterableSource<TSource>)source, sourceStart, context, reserveAtSource);
        producer.AgreeLayout = processor.AgreeLayoutAsync;
        return (graph, producer);
    }

    /// <summary>The chain of regroupers the options ask for (shuffle buffer, then buckets or packing), or null for none.</summary>
    private static Regrouper<T>? Regroupers<T>(Collator<T> collator, LoaderState start, LoaderContext context, out PipelineStage stage)
    {
        var (options, accounting) = (context.Options, context.Counters.Accounting);
        var chain = new List<Regrouper<T>>();
        if (options.ShuffleBufferSize > 0)
        {
            chain.Add(new ShuffleBuffer<T>(options.ShuffleBufferSize, options.BatchSize, options.Seed, start, accounting));
        }

        if (options.Bucketing is { } bucketing)
        {
            chain.Add(new LengthBucketer<T>(bucketing, collator, context.Pool, options, context.Errors, start, accounting));
        }

        if (collator is PackingCollator<T> packing)
        {
            chain.Add(new SequencePacker<T>(packing, options, start, accounting));
        }

        for (var i = 1; i < chain.Count; i++)
        {
            chain[i - 1].Next = chain[i];
        }

        // Buckets and packing decide which samples share a batch (Group); a shuffle buffer alone only mixes them.
        stage = options.Bucketing is not null || collator is PackingCollator<T> ? PipelineStage.Group : PipelineStage.Shuffle;
        return chain.Count > 0 ? chain[0] : null;
    }
}
