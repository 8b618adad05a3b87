using System.Globalization;
using System.Threading.Tasks.Dataflow;

namespace StreamingLoader.Internal;

/// <summary>
/// An iterable source read as it comes, cut into chunks of a batch's worth: each chunk goes to exactly one worker,
/// so nothing is read twice. A re-enumerable source is read anew each epoch; a channel once.
/// </summary>
internal sealed class IterableChunkProducer<TSource>(
    IterableSource<TSource> source, int chunkSize, EpochLedger? ledger,
    PipelineCounters counters, TimeProvider time, LoaderLifetime lifetime) : ChunkProducer<TSource>(counters, time, lifetime)
{
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
                chunk = Chunk<TSource>.Rent(chunkSize, epoch);
                await foreach (var item in source.Open(cancellationToken).WithCancellation(cancellationToken).ConfigureAwait(false))
                {
                    chunk.Items[chunk.Count] = item;
                    chunk.Indices[chunk.Count] = _position;
                    Volatile.Write(ref _position, _position + 1);
                    if (++chunk.Count == chunkSize)
                    {
                        await SendAsync(target, chunk, cancellationToken).ConfigureAwait(false);
                        sent++;
                        chunk = Chunk<TSource>.Rent(chunkSize, epoch);
                    }
                }

                if (chunk.Count > 0)
                {
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
