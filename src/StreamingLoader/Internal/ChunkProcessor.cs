using System.Buffers;
using System.Runtime.CompilerServices;

namespace StreamingLoader.Internal;

/// <summary>
/// What a worker does to a chunk: read its samples (map-style), transform them and collate them into a pooled
/// batch, as a PyTorch worker fetches, transforms and collates its batch. A sample error becomes an error marker
/// that travels on in order, so the consumer first gets the batches before it, and the source stops reading.
/// </summary>
internal sealed class ChunkProcessor<TSource, T>
{
    private readonly IDataset<TSource>? _dataset;
    private readonly IGatherDataset? _gather;
    private readonly Func<TSource, SampleContext, CancellationToken, ValueTask<T>>? _transform;
    private readonly Collator<T> _collator;
    private readonly BatchPool _pool;
    private readonly ulong _seed;
    private readonly string _name;
    private readonly PipelineCounters _counters;
    private readonly TimeProvider _time;
    private readonly ErrorHandler _errors;
    private readonly LoaderLifetime _lifetime;
    private readonly EpochLedger? _ledger;
    private readonly InFlightWork _inFlight;
    private readonly BatchWriter<T> _writer;
    private readonly bool _disposesSamples;

    public ChunkProcessor(
        SourceSpec source, TransformChain<TSource, T> chain, Collator<T> collator, BatchPool pool, LoaderOptions options,
        PipelineCounters counters, ErrorHandler errors, LoaderLifetime lifetime, EpochLedger? ledger, InFlightWork inFlight)
    {
        _dataset = (source as MapSource<TSource>)?.Dataset;
        _transform = chain.Transform;
        Synchronous = !chain.IsAsynchronous;
        _collator = collator;
        _pool = pool;
        _seed = options.Seed;
        _name = options.Name;
        _time = options.TimeProvider;
        _counters = counters;
        _errors = errors;
        _lifetime = lifetime;
        _ledger = ledger;
        _inFlight = inFlight;
        _disposesSamples = DisposesSamples(chain);
        _writer = new BatchWriter<T>(collator, pool, errors, _disposesSamples);

        // Fast path: untransformed samples, copied as they are, from a dataset that can gather its own rows.
        if (chain.IsIdentity && collator is ICopyCollator && _dataset is IGatherDataset gather)
        {
            _gather = gather;
        }
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
            Read(chunk, slot);
            return _transform is null ? (Chunk<T>)(object)chunk : await TransformAsync(chunk, _transform, slot).ConfigureAwait(false);
        }
        catch (DataLoaderException error)
        {
            _lifetime.StopSource();
            CancelReservation(chunk);
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
            delivery = CollateCore(chunk, slot);
        }
        catch (DataLoaderException error)
        {
            _lifetime.StopSource();
            CancelReservation(chunk);
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
        var timer = StartStage(PipelineStage.Transform, chunk.Count);
        var output = Chunk<T>.Rent(chunk.Count, chunk.Epoch).Continue(chunk);
        var token = _lifetime.Token;
        try
        {
            await TransformEachAsync(chunk, output, transform, slot, token).ConfigureAwait(false);
        }
        catch (DataLoaderException) when (_disposesSamples)
        {
            // A sample failed under the fail policy: the samples transformed before it will not be collated.
            output.Discard();
            throw;
        }

        chunk.Return();
        timer.Stop(output.Count);
        return output;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private async ValueTask TransformEachAsync(Chunk<TSource> chunk, Chunk<T> output, Func<TSource, SampleContext, CancellationToken, ValueTask<T>> transform, InFlightWork.Slot slot, CancellationToken token)
    {
        for (var i = 0; i < chunk.Count; i++)
        {
            var index = chunk.Indices[i];
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    slot.At(PipelineStage.Transform, index);
                    var pending = transform(chunk.Items[i], new SampleContext(_seed, chunk.Epoch, index), token);
                    output.Items[output.Count] = pending.IsCompletedSuccessfully ? pending.Result : await pending.ConfigureAwait(false);
                    output.Indices[output.Count++] = index;
                    break;
                }
                catch (Exception ex) when (_errors.IsSampleError(ex))
                {
                    if (!_errors.ShouldRetry(ex, attempt, chunk.Epoch, index, out var backoff))
                    {
                        _errors.Reject(output, PipelineStage.Transform, index, ex, attempt);
                        break;
                    }

                    await _errors.BackoffAsync(backoff).ConfigureAwait(false);
                }
            }
        }
    }

    /// <summary>Fills a map-style chunk's samples from the dataset; iterable chunks arrive filled.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Read(Chunk<TSource> chunk, InFlightWork.Slot slot)
    {
        if (_dataset is not { } dataset || _gather is not null)
        {
            return;
        }

        var timer = StartStage(PipelineStage.Read, chunk.Count);
        slot.At(PipelineStage.Read, chunk.Indices[0]);
        if (dataset is not IBatchedDataset<TSource> batched || !TryReadMany(batched, chunk))
        {
            for (var i = 0; i < chunk.Count; i++)
            {
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        slot.At(PipelineStage.Read, chunk.Indices[i]);
                        chunk.Items[i] = dataset.GetItem((int)chunk.Indices[i]);
                        break;
                    }
                    catch (Exception ex) when (_errors.IsSampleError(ex))
                    {
                        if (!_errors.ShouldRetry(ex, attempt, chunk.Epoch, chunk.Indices[i], out var backoff))
                        {
                            _errors.Reject(chunk, PipelineStage.Read, chunk.Indices[i], ex, attempt);
                            chunk.RemoveAt(i--);
                            break;
                        }

                        // A read is synchronous user code on this worker: the backoff blocks it, as a PyTorch worker's would.
                        _errors.BackoffAsync(backoff).GetAwaiter().GetResult();
                    }
                }
            }
        }

        timer.Stop(chunk.Count);
    }

    /// <summary>Reads the chunk in one call; on an error, falls back to reading one by one to find the sample.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool TryReadMany(IBatchedDataset<TSource> dataset, Chunk<TSource> chunk)
    {
        var indices = ArrayPool<int>.Shared.Rent(chunk.Count);
        try
        {
            for (var i = 0; i < chunk.Count; i++)
            {
                indices[i] = (int)chunk.Indices[i];
            }

            dataset.GetItems(indices.AsSpan(0, chunk.Count), chunk.ItemSpan);
            return true;
        }
#pragma warning disable CA1031 // The per-sample path reports the error with its sample index.
        catch (Exception)
#pragma warning restore CA1031
        {
            return false;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(indices);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private Delivery CollateCore(Chunk<T> chunk, InFlightWork.Slot slot)
    {
        if (chunk.Error is { } error)
        {
            return new Delivery(null, chunk.Epoch, DeliveryKind.Error, error);
        }

        if (chunk.IsEpochEnd)
        {
            return new Delivery(null, chunk.Epoch, DeliveryKind.EpochEnd, Chunks: chunk.Count);
        }

        if (chunk.Count == 0)
        {
            CancelReservation(chunk);
            chunk.Return();
            return new Delivery(null, chunk.Epoch, DeliveryKind.Empty, Sequence: chunk.Sequence, DeadLetters: chunk.DeadLetters);
        }

        // Agreed before the first chunk; only when every sample consulted failed does the first one collated decide.
        if (_pool.Layout is null)
        {
            try
            {
                var first = _gather is null ? chunk.Items[0] : (T)(object)_dataset!.GetItem((int)chunk.Indices[0])!;
                _pool.EnsureLayout(_collator.GetLayout(first));
            }
            catch (Exception ex)
            {
                throw _errors.Fail(PipelineStage.Collate, chunk.Epoch, chunk.Indices[0], ex);
            }
        }

        var measured = _writer.Measure(chunk, slot);
        if (chunk.Count == 0)
        {
            // Every sample was rejected while measuring.
            measured?.Return();
            CancelReservation(chunk);
            chunk.Return();
            return new Delivery(null, chunk.Epoch, DeliveryKind.Empty, Sequence: chunk.Sequence, DeadLetters: chunk.DeadLetters);
        }

        try
        {
            var required = measured is null ? default : measured.Required.AsSpan();
            Batch? batch;
            if (chunk.HasReservation)
            {
                chunk.HasReservation = false;
                batch = _pool.TakeReserved(required);
            }
            else if (!_pool.TryRent(out batch, required))
            {
                var blocked = _counters.Stage(PipelineStage.Collate).StartBlocked(_time);
                try
                {
                    batch = _pool.Rent(_lifetime.Token, required);
                }
                finally
                {
                    blocked.Stop();
                }
            }

            return Fill(chunk, batch, measured, slot);
        }
        finally
        {
            measured?.Return();
        }
    }

    private Delivery Fill(Chunk<T> chunk, Batch batch, BatchWriter<T>.Measured? measured, InFlightWork.Slot slot)
    {
        var timer = StartStage(PipelineStage.Collate, chunk.Count);
        try
        {
            int filled;
            if (_gather is not null)
            {
                batch.Reset(chunk.Epoch, chunk.Count);
                filled = GatherOrReadEach(chunk, batch, slot);
                batch.SetCount(filled);
            }
            else
            {
                filled = _writer.Write(chunk, batch, measured, slot);
            }

            batch.LastLine = chunk.LastLine;
            chunk.Return();
            timer.Stop(filled);
            if (filled == 0)
            {
                batch.Dispose();
                return new Delivery(null, chunk.Epoch, DeliveryKind.Empty, Sequence: chunk.Sequence, DeadLetters: chunk.DeadLetters);
            }

            return new Delivery(batch, chunk.Epoch, DeliveryKind.Batch, Sequence: chunk.Sequence, DeadLetters: chunk.DeadLetters, ReadAt: chunk.ReadAt, ReadyAt: _time.GetTimestamp());
        }
        catch
        {
            batch.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Gathers the chunk's rows straight into the batch; when the gather throws (a shard that fails to decode), reads
    /// the samples one by one instead, so the failing ones meet the Read stage's policy with their indices.
    /// </summary>
    private int GatherOrReadEach(Chunk<T> chunk, Batch batch, InFlightWork.Slot slot)
    {
        try
        {
            _gather!.Gather(chunk.IndexSpan, batch);
            chunk.IndexSpan.CopyTo(batch.IndexBuffer);
            return chunk.Count;
        }
        catch (Exception ex) when (_errors.IsSampleError(ex))
        {
        }

        var filled = 0;
        for (var i = 0; i < chunk.Count; i++)
        {
            var index = chunk.Indices[i];
            try
            {
                slot.At(PipelineStage.Read, index);
                var item = (T)(object)_dataset!.GetItem((int)index)!;
                _collator.Write(in item, filled, batch);
                batch.IndexBuffer[filled++] = index;
            }
            catch (Exception ex) when (_errors.IsSampleError(ex))
            {
                _errors.Reject(chunk, PipelineStage.Read, index, ex);
            }
        }

        return filled;
    }

    private void CancelReservation<TItem>(Chunk<TItem> chunk)
    {
        if (chunk.HasReservation)
        {
            chunk.HasReservation = false;
            _pool.CancelReservation();
        }
    }

    private StageTimer StartStage(PipelineStage stage, int items) => StageTimer.Start(_name, stage, _counters.Stage(stage), items);
}
