using System.Runtime.CompilerServices;

namespace StreamingLoader.Internal;

/// <summary>
/// What a worker does to a chunk: read its samples (map-style, <see cref="DatasetReader{TSource}"/>), transform them
/// and collate them into a pooled batch (<see cref="ChunkCollator{TSource, T}"/>), as a PyTorch worker fetches,
/// transforms and collates its batch. A sample error becomes an error marker that travels on in order, so the consumer
/// first gets the batches before it, and the source stops reading.
/// </summary>
internal sealed class ChunkProcessor<TSource, T>
{
    private readonly IDataset<TSource>? _dataset;
    private readonly DatasetReader<TSource>? _reader;
    private readonly Func<TSource, SampleContext, CancellationToken, ValueTask<T>>? _transform;
    private readonly ChunkCollator<TSource, T> _chunkCollator;
    private readonly Collator<T> _collator;
    private readonly LoaderContext _context;
    private readonly BatchPool _pool;
    private readonly ulong _seed;
    private readonly ErrorHandler _errors;
    private readonly LoaderLifetime _lifetime;
    private readonly EpochLedger? _ledger;
    private readonly InFlightWork _inFlight;
    private readonly bool _disposesSamples;

    public ChunkProcessor(SourceSpec source, TransformChain<TSource, T> chain, Collator<T> collator, LoaderContext context)
    {
        _dataset = (source as MapSource<TSource>)?.Dataset;
        _transform = chain.Transform;
        Synchronous = !chain.IsAsynchronous;
        _collator = collator;
        _context = context;
        _pool = context.Pool;
        _seed = context.Options.Seed;
        _errors = context.Errors;
        _lifetime = context.Lifetime;
        _ledger = context.SourceLedger;
        _inFlight = context.InFlight;
        _disposesSamples = DisposesSamples(chain);

        // Fast path: untransformed samples, copied as they are, from a dataset that can gather its own rows (collation
        // reads them, so there is no read step).
        var gather = chain.IsIdentity && collator is ICopyCollator ? _dataset as IGatherDataset : null;
        _reader = _dataset is not null && gather is null ? new DatasetReader<TSource>(_dataset, context) : null;
        _chunkCollator = new ChunkCollator<TSource, T>(_dataset, gather, collator, context, _disposesSamples);
    }

    /// <summary>
    /// Whether the loader disposes the samples it collates: those its transforms made, when their type is disposable
    /// (<see cref="SampleDisposal{T}"/>).
    /// </summary>
    public static bool DisposesSamples(TransformChain<TSource, T> chain) => SampleDisposal<T>.Needed && !chain.IsIdentity;

    /// <summary>
    /// Fixes the batch layout from the first samples of the epoch (<see cref="LayoutAgreement"/>), before the source
    /// sends its first chunk. <paramref name="items"/> holds the samples of an iterable source; a map-style source's
    /// are read by index. A sample that fails here is reported when the pipeline processes it.
    /// </summary>
    public async ValueTask AgreeLayoutAsync(ReadOnlyMemory<long> indices, ReadOnlyMemory<TSource> items, long epoch)
    {
        if (_pool.Layout is not null)
        {
            return;
        }

        var layouts = new List<BatchLayout>();
        for (var i = 0; i < indices.Length && layouts.Count < LayoutAgreement.Samples; i++)
        {
            var index = indices.Span[i];
            try
            {
                var source = items.IsEmpty ? _dataset!.GetItem((int)index) : items.Span[i];
                var item = _transform is null ? (T)(object)source! : await _transform(source, new SampleContext(_seed, epoch, index), _lifetime.Token).ConfigureAwait(false);
                try
                {
                    layouts.Add(_collator.GetLayout(item));
                }
                finally
                {
                    if (_disposesSamples)
                    {
                        // Made only to consult: the pipeline transforms the sample again when its chunk comes.
                        SampleDisposal<T>.Dispose(ref item);
                    }
                }
            }
#pragma warning disable CA1031 // The sample's own processing reports its error, with the policy.
            catch (Exception ex) when (_errors.IsSampleError(ex))
#pragma warning restore CA1031
            {
            }
        }

        if (LayoutAgreement.Agree(layouts) is { } layout)
        {
            _pool.EnsureLayout(layout);
        }
    }

    /// <summary>Read, transform and collate in one step: the worker block without a shuffle buffer.</summary>
    public async Task<Delivery> ProcessAsync(Chunk<TSource> chunk)
    {
        var prepared = await PrepareAsync(chunk).ConfigureAwait(false);
        return Collate(prepared);
    }

    /// <summary>
    /// Gets whether <see cref="PrepareAsync"/> always completes at once (no transform, or a synchronous one): then the
    /// blocks call <see cref="Process"/> and <see cref="Prepare"/>, and Dataflow runs its cheaper synchronous loop.
    /// </summary>
    public bool Synchronous { get; }

    /// <summary><see cref="ProcessAsync"/> for a <see cref="Synchronous"/> chain.</summary>
    public Delivery Process(Chunk<TSource> chunk) => Collate(Prepare(chunk));

    /// <summary><see cref="PrepareAsync"/> for a <see cref="Synchronous"/> chain.</summary>
    public Chunk<T> Prepare(Chunk<TSource> chunk)
    {
        var prepared = PrepareAsync(chunk);
        return prepared.IsCompletedSuccessfully ? prepared.Result : prepared.AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Reads and transforms a chunk: everything before the shuffle buffer and collation.</summary>
    public async ValueTask<Chunk<T>> PrepareAsync(Chunk<TSource> chunk)
    {
        if (chunk.IsMarker)
        {
            return chunk.AsMarker<T>();
        }

        var slot = _inFlight.Enter(chunk.Epoch);
        try
        {
            _reader?.Read(chunk, slot);
            return _transform is null ? (Chunk<T>)(object)chunk : await TransformAsync(chunk, _transform, slot).ConfigureAwait(false);
        }
        catch (DataLoaderException error)
        {
            _lifetime.StopSource();
            chunk.Return();
            return Chunk<T>.Failed(error);
        }
        finally
        {
            slot.Exit();
        }
    }

    /// <summary>
    /// Writes a chunk into a pooled batch. Waiting for a free buffer is the pipeline's backpressure from the consumer,
    /// counted as this stage's blocked time; the wait blocks one worker thread, which is cheaper per batch than an
    /// asynchronous hand-off.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Delivery Collate(Chunk<T> chunk)
    {
        Delivery delivery;
        var slot = _inFlight.Enter(chunk.Epoch);
        try
        {
            delivery = _chunkCollator.Collate(chunk, slot);
        }
        catch (DataLoaderException error)
        {
            _lifetime.StopSource();
            if (_disposesSamples)
            {
                chunk.DisposeItems();
            }

            chunk.Return();
            delivery = new Delivery(null, error.Epoch, DeliveryKind.Error, error);
        }
        catch when (_disposesSamples)
        {
            // Stopped while waiting for a buffer, or a bug: the samples not written yet will not be.
            chunk.DisposeItems();
            throw;
        }
        finally
        {
            slot.Exit();
        }

        _ledger?.RecordMade(delivery);
        return delivery;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private async ValueTask<Chunk<T>> TransformAsync(Chunk<TSource> chunk, Func<TSource, SampleContext, CancellationToken, ValueTask<T>> transform, InFlightWork.Slot slot)
    {
        var timer = _context.StartStage(PipelineStage.Transform, chunk.Count);
        var output = Chunk<T>.Rent(chunk.Count, chunk.Epoch).Continue(chunk);
        var token = _lifetime.Token;
        try
        {
            for (var i = 0; i < chunk.Count; i++)
            {
                var index = chunk.Indices[i];
                bool succeeded;
                T item;
                try
                {
                    slot.At(PipelineStage.Transform, index);
                    var pending = transform(chunk.Items[i], new SampleContext(_seed, chunk.Epoch, index), token);
                    (succeeded, item) = (true, pending.IsCompletedSuccessfully ? pending.Result : await pending.ConfigureAwait(false));
                }
                catch (Exception ex) when (_errors.IsSampleError(ex))
                {
                    (succeeded, item) = await _errors.RetryAsync(
                        ex,
                        static s => s.Transform(s.Item, new SampleContext(s.Seed, s.Epoch, s.Index), s.Token),
                        (Transform: transform, Item: chunk.Items[i], Seed: _seed, chunk.Epoch, Index: index, Token: token),
                        PipelineStage.Transform,
                        index,
                        output,
                        slot).ConfigureAwait(false);
                }

                if (succeeded)
                {
                    output.Items[output.Count] = item;
                    output.Indices[output.Count++] = index;
                }
            }
        }
        catch
        {
            // A sample failed under the fail policy, or a stop: the samples transformed before it will not be collated
            // (disposed when the loader disposes samples), and the output holds the chunk's buffer reservation now: it
            // goes back with it.
            if (_disposesSamples)
            {
                output.Discard();
            }
            else
            {
                output.Return();
            }

            throw;
        }

        chunk.Return();
        timer.Stop(output.Count);
        return output;
    }
}
