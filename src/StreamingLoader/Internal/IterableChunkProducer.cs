using System.Globalization;
using System.Threading.Tasks.Dataflow;

namespace StreamingLoader.Internal;

/// <summary>
/// An iterable source read as it comes, cut into chunks of a batch's worth: each chunk goes to exactly one worker,
/// so nothing is read twice. A re-enumerable source is read anew each epoch; a channel once. With drop-last, a last
/// chunk smaller than a batch is dropped, as PyTorch drops it for an iterable dataset.
/// </summary>
internal sealed class IterableChunkProducer<TSource>(
    IterableSource<TSource> source, int chunkSize, bool dropLast, EpochLedger? ledger,
    PipelineCounters counters, TimeProvider time, LoaderLifetime lifetime, BatchPool? pool) : ChunkProducer<TSource>(counters, time, lifetime, pool)
{
    /// <summary>Items a chunk has room for at first: it grows to a batch as items come, so a huge batch size reserves nothing up front.</summary>
    private const int InitialChunkCapacity = 4096;

    private long _epoch;
    private long _position;

    public override string Describe() =>
        string.Create(CultureInfo.InvariantCulture, $"source (waiting for its next item after {Volatile.Read(ref _position)} items of epoch {Volatile.Read(ref _epoch)})");

    public override async Task ProduceAsync(ITargetBlock<Chunk<TSource>> target, CancellationToken cancellationToken)
    {
        Chunk<TSource>? chunk = null;
        try
        {
            for (var epoch = 0L; ; epoch++)
            {
                Volatile.Write(ref _epoch, epoch);
                Volatile.Write(ref _position, 0);
                var sent = 0;
                chunk = Chunk<TSource>.Rent(Math.Min(chunkSize, InitialChunkCapacity), epoch);
                await foreach (var item in source.Open(cancellationToken).WithCancellation(cancellationToken).ConfigureAwait(false))
                {
                    if (chunk.Count == chunk.Items.Length)
                    {
                        chunk.Grow((int)Math.Min(chunkSize, 2L * chunk.Count));
                    }

                    chunk.Items[chunk.Count] = item;
                    chunk.Indices[chunk.Count] = _position;
                    Volatile.Write(ref _position, _position + 1);
                    if (++chunk.Count == chunkSize)
                    {
                        await AgreeLayoutOnceAsync(chunk.Indices.AsMemory(0, chunk.Count), chunk.Items.AsMemory(0, chunk.Count), epoch).ConfigureAwait(false);
                        chunk.Sequence = sent;
                        await SendAsync(target, chunk, cancellationToken).ConfigureAwait(false);
                        sent++;
                        chunk = Chunk<TSource>.Rent(Math.Min(chunkSize, InitialChunkCapacity), epoch);
                    }
                }

                if (chunk.Count > 0 && !dropLast)
                {
                    await AgreeLayoutOnceAsync(chunk.Indices.AsMemory(0, chunk.Count), chunk.Items.AsMemory(0, chunk.Count), epoch).ConfigureAwait(false);
                    chunk.Sequence = sent;
                    await SendAsync(target, chunk, cancellationToken).ConfigureAwait(false);
                    sent++;
                }
                else
                {
                    chunk.Return();
                }

                chunk = null;
                await SendAsync(target, Chunk<TSource>.EpochEnd(epoch, sent), cancellationToken).ConfigureAwait(false);
                if (!source.Reenumerable || _position == 0)
                {
                    break;
                }

                if (ledger is not null)
                {
                    await ledger.WaitUntilMadeAsync(epoch, cancellationToken).ConfigureAwait(false);
                }
            }

            target.Complete();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            target.Complete();
        }
        catch (Exception ex)
        {
            var error = ex as DataLoaderException ?? new DataLoaderException(_epoch, string.Create(CultureInfo.InvariantCulture, $"The source failed after {_position} items of epoch {_epoch}: {ex.Message}"), ex);
            await EndWithErrorAsync(target, chunk, error).ConfigureAwait(false);
        }
    }
}
