using System.Threading.Channels;

namespace StreamingLoader;

/// <summary>A pipeline under construction whose samples are of type <typeparamref name="T"/>.</summary>
/// <typeparam name="T">The sample type after the transforms added so far.</typeparam>
public sealed class PipelineBuilder<T>
{
    private readonly SourceSpec _source;
    private readonly ITransformChain<T> _chain;

    internal PipelineBuilder(SourceSpec source, ITransformChain<T> chain)
    {
        _source = source;
        _chain = chain;
    }

    /// <summary>
    /// Adds a transform run on <see cref="LoaderOptions.Workers"/> threads. Chained transforms run as one stage.
    /// The context gives the sample's index, epoch and a reproducible random generator for augmentation.
    /// </summary>
    /// <remarks>
    /// A transform owns its input; the loader owns the last transform's output. When that output is
    /// <see cref="IDisposable"/> (a tokenized text holding a pooled buffer), the loader disposes each sample once the
    /// collator has written it, or when it rejects or drops it, or holds it when it stops. Samples read from a dataset or
    /// source without a transform are the dataset's and are never disposed.
    /// </remarks>
    public PipelineBuilder<TOut> Transform<TOut>(Func<T, SampleContext, TOut> transform)
    {
        ArgumentNullException.ThrowIfNull(transform);
        return new PipelineBuilder<TOut>(_source, _chain.Then(transform));
    }

    /// <summary>Adds an asynchronous transform (I/O, decoding); as <see cref="Transform{TOut}"/> otherwise.</summary>
    public PipelineBuilder<TOut> TransformAsync<TOut>(Func<T, SampleContext, CancellationToken, ValueTask<TOut>> transform)
    {
        ArgumentNullException.ThrowIfNull(transform);
        return new PipelineBuilder<TOut>(_source, _chain.ThenAsync(transform));
    }

    /// <summary>Builds the loader, which starts reading when its first epoch is read.</summary>
    /// <param name="collator">Writes samples into batch buffers; see <see cref="Collate"/>.</param>
    /// <param name="options">Batching and parallelism; copied.</param>
    /// <param name="resumeFrom">A <see cref="DataLoader.State"/> to resume from (map-style datasets only).</param>
    public DataLoader Build(Collator<T> collator, LoaderOptions? options = null, LoaderState? resumeFrom = null)
    {
        ArgumentNullException.ThrowIfNull(collator);
        return _chain.Build(_source, collator, (options ?? new LoaderOptions()).Clone(), resumeFrom);
    }

    internal SourceSpec Source => _source;
}
