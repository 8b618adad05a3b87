using System.Globalization;
using System.Threading.Tasks.Dataflow;

namespace StreamingLoader.Internal;

/// <summary>A map-style dataset read in its batch sampler's order: one chunk per sampler batch.</summary>
internal sealed class MapChunkProducer<TSource>(int count, BatchSampler sampler, LoaderState start, LoaderContext context, bool reservesBuffers)
    : ChunkProducer<TSource>(context, reservesBuffers)
{
    private long _epoch = start.Epoch;
    private int _batch = start.NextBatch;

    public override string Describe() =>
        string.Create(CultureInfo.InvariantCulture, $"source (sampler batch {Volatile.Read(ref _batch)} of epoch {Volatile.Read(ref _epoch)})");

    public override async Task ProduceAsync(ITargetBlock<Chunk<TSource>> target, CancellationToken cancellationToken)
    {
        try
        {
            object? storage = null;
            for (var epoch = start.Epoch; ; epoch++)
            {
                Volatile.Write(ref _epoch, epoch);
                var batches = sampler.GetBatches(Options.Seed, epoch, ref storage);
                var sent = 0;
                var resumed = epoch == start.Epoch;
                for (var b = resumed ? start.NextBatch : 0; b < batches.Count; b++)
                {
                    if (resumed && start.Delivered(b))
                    {
                        continue;
                    }

                    Volatile.Write(ref _batch, b);
                    if (NeedsLayout)
                    {
                        await AgreeLayoutOnceAsync(FirstIndices(batches, b), ReadOnlyMemory<TSource>.Empty, epoch).ConfigureAwait(false);
                    }

                    await WaitForDemandAsync(cancellationToken).ConfigureAwait(false);
                    var chunk = ToChunk(batches[b].Span, epoch);
                    chunk.Sequence = b;

                    // No ReadAt: a dataset's samples are read when a buffer frees up, so their age at delivery is time
                    // spent waiting in the prefetch queue (an evaluation set's between evaluations), not ingest lag.
                    await SendAsync(target, chunk, cancellationToken).ConfigureAwait(false);
                    sent++;
                }

                await SendAsync(target, Chunk<TSource>.EpochEnd(epoch, sent), cancellationToken).ConfigureAwait(false);
                if (Ledger is { } ledger)
                {
                    await ledger.WaitUntilMadeAsync(epoch, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            target.Complete();
        }
        catch (Exception ex)
        {
            await EndWithErrorAsync(target, null, ex as DataLoaderException ?? new DataLoaderException(0, $"The sampler failed: {ex.Message}", ex)).ConfigureAwait(false);
        }
    }

    /// <summary>The indices the layout is agreed from: the epoch's first, with room for some that fail.</summary>
    private static long[] FirstIndices(IReadOnlyList<ReadOnlyMemory<int>> batches, int from)
    {
        var indices = new List<long>();
        for (var b = from; b < batches.Count && indices.Count < 2 * LayoutAgreement.Samples; b++)
        {
            foreach (var index in batches[b].Span)
            {
                indices.Add(index);
            }
        }

        return [.. indices.Take(2 * LayoutAgreement.Samples)];
    }

    private Chunk<TSource> ToChunk(ReadOnlySpan<int> indices, long epoch)
    {
        var chunk = Chunk<TSource>.Rent(indices.Length, epoch);
        for (var i = 0; i < indices.Length; i++)
        {
            if ((uint)indices[i] >= (uint)count)
            {
                chunk.Return();
                throw new DataLoaderException(PipelineStage.Source, epoch, indices[i], new InvalidOperationException($"The sampler yielded index {indices[i]} but the dataset has {count} samples."));
            }

            chunk.Indices[i] = indices[i];
        }

        chunk.Count = indices.Length;
        return chunk;
    }
}
