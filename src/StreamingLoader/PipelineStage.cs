namespace StreamingLoader;

/// <summary>
/// A stage of the pipeline, as errors (<see cref="DataLoaderException.Stage"/>), dead letters,
/// <see cref="LoaderOptions.StageErrorPolicies"/> and the metrics' <c>stage</c> label (in lower case) name it.
/// </summary>
public enum PipelineStage
{
    /// <summary>The source: a map-style dataset's sampler, or an iterable source's items.</summary>
    Source,

    /// <summary>A map-style dataset's <see cref="IDataset{T}.GetItem"/>.</summary>
    Read,

    /// <summary>The pipeline's transforms, composed into one stage.</summary>
    Transform,

    /// <summary>The shuffle buffer (<see cref="LoaderOptions.ShuffleBufferSize"/>).</summary>
    Shuffle,

    /// <summary>What decides which samples share a batch: length buckets or sequence packing (and a shuffle buffer before them).</summary>
    Group,

    /// <summary>The collator writing samples into a pooled batch.</summary>
    Collate,

    /// <summary>Finished batches waiting for the consumer.</summary>
    Prefetch,
}
