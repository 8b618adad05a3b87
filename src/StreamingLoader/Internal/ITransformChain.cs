namespace StreamingLoader.Internal;

internal interface ITransformChain<T>
{
    ITransformChain<TOut> Then<TOut>(Func<T, SampleContext, TOut> transform);

    ITransformChain<TOut> ThenAsync<TOut>(Func<T, SampleContext, CancellationToken, ValueTask<TOut>> transform);

    DataLoader Build(SourceSpec source, Collator<T> collator, LoaderOptions options, LoaderState? resumeFrom);
}
