using System.Runtime.CompilerServices;

namespace StreamingLoader.Internal;

/// <summary>
/// Collates a prepared chunk on a worker: takes the buffer the chunk reserved (or rents one, waiting while none is
/// free: the consumer's backpressure, counted as the Collate stage's blocked time), then writes each sample into its
/// slot, or gathers the rows straight from a dataset that can. A chunk whose samples were all rejected makes no batch.
/// </summary>
internal sealed class ChunkCollator<TSource, T>
{
    private readonly IDataset<TSource>? _dataset;
    private readonly IGatherDataset? _gather;
    private readonly Collator<T> _collator;
    private readonly LoaderContext _context;
    private readonly BatchPool _pool;
    private readonly ErrorHandler _errors;
    private readonly BatchWriter<T> _writer;

    /// <summary>
    /// Collates for <paramref name="collator"/>. With <paramref name="disposesSamples"/> (<see cref="ChunkProcessor{TSource, T}.DisposesSamples"/>),
    /// the writer disposes each sample once written or rejected.
    /// </summary>
    public ChunkCollator(IDataset<TSource>? dataset, IGatherDataset? gather, Collator<T> collator, LoaderContext context, bool disposesSamples)
    {
        (_dataset, _gather, _collator, _context) = (dataset, gather, collator, context);
        (_pool, _errors) = (context.Pool, context.Errors);
        _writer = new BatchWriter<T>(collator, _pool, _errors, disposesSamples);
    }

    /// <summary>The chunk's delivery: its batch, an empty chunk (every sample rejected), or the marker it carries.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Delivery Collate(Chunk<T> chunk, InFlightWork.Slot slot)
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
            chunk.Return();
            return new Delivery(null, chunk.Epoch, DeliveryKind.Empty, Sequence: chunk.Sequence, DeadLetters: chunk.DeadLetters);
        }

        try
        {
            var required = measured is null ? default : measured.Required.AsSpan();
            Batch? batch;
            if (chunk.Reservation is { } reservation)
            {
                batch = reservation.Take(required);
            }
            else if (!_pool.TryRent(out batch, required))
            {
                var blocked = _context.Counters.Stage(PipelineStage.Collate).StartBlocked(_context.Time);
                try
                {
                    batch = _pool.Rent(_context.Lifetime.Token, required);
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
        var timer = _context.StartStage(PipelineStage.Collate, chunk.Count);
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

            return new Delivery(batch, chunk.Epoch, DeliveryKind.Batch, Sequence: chunk.Sequence, DeadLetters: chunk.DeadLetters, ReadAt: chunk.ReadAt, ReadyAt: _context.Time.GetTimestamp());
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
}
