using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace StreamingLoader;

/// <summary>Where samples come from; the loader asks it for chunks of samples, epoch after epoch.</summary>
internal abstract class SourceSpec
{
    public abstract IShapedDataset? Shape { get; }
}

/// <summary>What the option checks need to know of a map-style source, whatever its sample type.</summary>
internal abstract class MapSourceBase : SourceSpec
{
    public abstract bool HasSampler { get; }

    public abstract bool HasBatchSampler { get; }
}

internal sealed class MapSource<T>(IDataset<T> dataset, Sampler? sampler, BatchSampler? batchSampler) : MapSourceBase
{
    public IDataset<T> Dataset => dataset;

    public override IShapedDataset? Shape => dataset as IShapedDataset;

    public override bool HasSampler => sampler is not null;

    public override bool HasBatchSampler => batchSampler is not null;

    /// <summary>The batch sampler for these (validated) options: PyTorch's rules for <c>shuffle</c>, <c>sampler</c> and <c>batch_sampler</c>.</summary>
    public BatchSampler ResolveBatchSampler(LoaderOptions options)
    {
        if (batchSampler is not null)
        {
            return batchSampler;
        }

        var resolved = sampler ?? (options.Shuffle ? Sampler.Random(dataset.Count) : Sampler.Sequential(dataset.Count));
        return BatchSampler.Create(resolved, options.BatchSize, options.DropLast);
    }
}

/// <summary>What the option checks need to know of an iterable source, whatever its item type.</summary>
internal abstract class IterableSourceBase : SourceSpec
{
    /// <summary>Gets whether each epoch reads the source anew; a channel is read once.</summary>
    public abstract bool Reenumerable { get; }

    /// <summary>Gets the source when it keeps its own position (a tail, a folder watch, a broker); null otherwise.</summary>
    public abstract Internal.ISelfPositionedSource? SelfPositioned { get; }
}

internal sealed class IterableSource<T>(Func<CancellationToken, IAsyncEnumerable<T>> open, bool reenumerable, object? origin = null) : IterableSourceBase
{
    public override Internal.ISelfPositionedSource? SelfPositioned => origin as Internal.ISelfPositionedSource;

    public override IShapedDataset? Shape => null;

    public override bool Reenumerable => reenumerable;

    public IAsyncEnumerable<T> Open(CancellationToken cancellationToken) => open(cancellationToken);
}

internal static class ObservableBridge
{
    /// <summary>
    /// Reads an observable through a bounded channel; OnNext waits while the channel is full, so a synchronous
    /// producer is held back instead of filling memory.
    /// </summary>
    public static async IAsyncEnumerable<T> ToAsyncEnumerable<T>(IObservable<T> source, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<T>(new BoundedChannelOptions(1024) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

        // Subscribe on another thread: a synchronous observable pushes inside Subscribe and would wait for this reader.
        var subscribing = Task.Run(() => source.Subscribe(new ChannelObserver<T>(channel.Writer, cancellationToken)), CancellationToken.None);
        try
        {
            await foreach (var item in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return item;
            }
        }
        finally
        {
            channel.Writer.TryComplete();

            // A synchronous producer ends with the exception its OnNext threw once the reader stopped.
            try
            {
                (await subscribing.ConfigureAwait(false)).Dispose();
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private sealed class ChannelObserver<T>(ChannelWriter<T> writer, CancellationToken cancellationToken) : IObserver<T>
    {
        /// <summary>
        /// Waits while the channel is full. Once the loader stops reading it throws, which is the only way to stop a
        /// synchronous producer (Rx propagates an exception from OnNext back into the producer's loop).
        /// </summary>
        public void OnNext(T value)
        {
            if (writer.TryWrite(value))
            {
                return;
            }

            try
            {
                writer.WriteAsync(value, cancellationToken).AsTask().GetAwaiter().GetResult();
            }
            catch (ChannelClosedException)
            {
                throw new OperationCanceledException("The loader stopped reading this observable.");
            }
        }

        public void OnError(Exception error) => writer.TryComplete(error);

        public void OnCompleted() => writer.TryComplete();
    }
}
