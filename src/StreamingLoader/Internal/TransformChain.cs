namespace StreamingLoader.Internal;

/// <summary>
/// The transforms from a source's samples to the pipeline's, composed into one function so that a chain costs
/// one stage. Neither delegate set means no transform (then <typeparamref name="T"/> is <typeparamref name="TSource"/>).
/// </summary>
internal sealed class TransformChain<TSource, T>(
    Func<TSource, SampleContext, T>? sync,
    Func<TSource, SampleContext, CancellationToken, ValueTask<T>>? asynchronous) : ITransformChain<T>
{
    public bool IsIdentity => sync is null && asynchronous is null;

    /// <summary>Gets whether a transform of the chain is asynchronous (may not complete at once).</summary>
    public bool IsAsynchronous => asynchronous is not null;

    /// <summary>Gets the chain as one asynchronous function (a synchronous one completes at once), or null for none.</summary>
    public Func<TSource, SampleContext, CancellationToken, ValueTask<T>>? Transform =>
        sync is { } s ? (source, context, _) => new ValueTask<T>(s(source, context)) : asynchronous;

    public ITransformChain<TOut> Then<TOut>(Func<T, SampleContext, TOut> transform)
    {
        if (sync is { } first)
        {
            return new TransformChain<TSource, TOut>((s, c) => transform(first(s, c), c.Next()), null);
        }

        if (asynchronous is { } firstAsync)
        {
            return new TransformChain<TSource, TOut>(null, async (s, c, ct) => transform(await firstAsync(s, c, ct).ConfigureAwait(false), c.Next()));
        }

        // No transform yet, so T is TSource and the delegate already has the right type.
        return new TransformChain<TSource, TOut>((Func<TSource, SampleContext, TOut>)(object)transform, null);
    }

    public ITransformChain<TOut> ThenAsync<TOut>(Func<T, SampleContext, CancellationToken, ValueTask<TOut>> transform)
    {
        if (sync is { } first)
        {
            return new TransformChain<TSource, TOut>(null, (s, c, ct) => transform(first(s, c), c.Next(), ct));
        }

        if (asynchronous is { } firstAsync)
        {
            return new TransformChain<TSource, TOut>(null, async (s, c, ct) => await transform(await firstAsync(s, c, ct).ConfigureAwait(false), c.Next(), ct).ConfigureAwait(false));
        }

        return new TransformChain<TSource, TOut>(null, (Func<TSource, SampleContext, CancellationToken, ValueTask<TOut>>)(object)transform);
    }

    public DataLoader Build(SourceSpec source, Collator<T> collator, LoaderOptions options, LoaderState? resumeFrom) =>
        new DataflowLoader<TSource, T>(source, this, collator, options, resumeFrom);
}
