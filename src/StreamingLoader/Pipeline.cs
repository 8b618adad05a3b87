using System.Threading.Channels;

namespace StreamingLoader;

/// <summary>
/// Starts a loader pipeline from a source: a map-style dataset driven by a sampler, or an iterable source read as
/// it comes. Add transforms, then <c>Build</c> a <see cref="DataLoader"/>.
/// </summary>
/// <example>
/// <code>
/// var options = new LoaderOptions { BatchSize = 256, Shuffle = true, Workers = 4, Seed = 42 };
/// await using var loader = Pipeline.From(dataset)
///     .Transform((sample, context) => Augment(sample, context.Random()))
///     .Build(options);
/// for (var epoch = 0; epoch &lt; 10; epoch++)
/// {
///     await foreach (var batch in loader.ReadEpochAsync())
///     {
///         using (batch) { Train(batch.Features.AsSpan&lt;float&gt;(), batch.Labels.AsSpan&lt;long&gt;()); }
///     }
/// }
/// </code>
/// </example>
public static class Pipeline
{
    /// <summary>
    /// A map-style dataset, read in the order of <paramref name="sampler"/>; without one, sequentially or, with
    /// <see cref="LoaderOptions.Shuffle"/>, in a new random order each epoch.
    /// </summary>
    public static PipelineBuilder<T> From<T>(IDataset<T> dataset, Sampler? sampler = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return new PipelineBuilder<T>(new MapSource<T>(dataset, sampler, null), new TransformChain<T, T>(null, null));
    }

    /// <summary>A map-style dataset, read in the batches <paramref name="batchSampler"/> makes.</summary>
    public static PipelineBuilder<T> From<T>(IDataset<T> dataset, BatchSampler batchSampler)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(batchSampler);
        return new PipelineBuilder<T>(new MapSource<T>(dataset, null, batchSampler), new TransformChain<T, T>(null, null));
    }

    /// <summary>An async stream, enumerated again for each epoch (an epoch ends when the stream does).</summary>
    public static PipelineBuilder<T> From<T>(IAsyncEnumerable<T> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new PipelineBuilder<T>(new IterableSource<T>(_ => source, reenumerable: true, source), new TransformChain<T, T>(null, null));
    }

    /// <summary>
    /// An observable, subscribed again for each epoch. A producer that pushes faster than the pipeline accepts is
    /// blocked inside <c>OnNext</c> once the pipeline's bounded input is full: that is the only backpressure Rx allows.
    /// </summary>
    public static PipelineBuilder<T> From<T>(IObservable<T> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new PipelineBuilder<T>(new IterableSource<T>(ct => ObservableBridge.ToAsyncEnumerable(source, ct), reenumerable: true), new TransformChain<T, T>(null, null));
    }

    /// <summary>A channel, read once: one epoch that ends when the channel is completed.</summary>
    public static PipelineBuilder<T> From<T>(ChannelReader<T> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new PipelineBuilder<T>(new IterableSource<T>(source.ReadAllAsync, reenumerable: false), new TransformChain<T, T>(null, null));
    }
}
