namespace StreamingLoader;

/// <summary>
/// The stage names, as metrics (<see cref="LoaderMetrics.StageTag"/>), errors (<see cref="DataLoaderException.Stage"/>),
/// dead letters and <see cref="LoaderOptions.StageErrorPolicies"/> name them.
/// </summary>
public static class PipelineStages
{
    /// <summary>The source: a map-style dataset's sampler, or an iterable source's items.</summary>
    public const string Source = "source";

    /// <summary>A map-style dataset's <see cref="IDataset{T}.GetItem"/>.</summary>
    public const string Read = "read";

    /// <summary>The pipeline's transforms, composed into one stage.</summary>
    public const string Transform = "transform";

    /// <summary>The shuffle buffer (<see cref="LoaderOptions.ShuffleBufferSize"/>).</summary>
    public const string Shuffle = "shuffle";

    /// <summary>The stage that decides which samples share a batch: length buckets or sequence packing (and a shuffle buffer before them).</summary>
    public const string Group = "group";

    /// <summary>The collator writing samples into a pooled batch.</summary>
    public const string Collate = "collate";

    /// <summary>Finished batches waiting for the consumer.</summary>
    public const string Prefetch = "prefetch";
}
