using System.Globalization;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Dataflow;

namespace StreamingLoader.Internal;

/// <summary>
/// An iterable source read as it comes, cut into chunks of a batch's worth: each chunk goes to exactly one worker,
/// so nothing is read twice. A re-enumerable source is read anew each epoch; a channel once. With drop-last, a last
/// chunk smaller than a batch is dropped, as PyTorch drops it for an iterable dataset. Resumed from a state, it reads
/// the state's epoch anew and passes over the chunks the state says were delivered (their items are not sent again).
/// </summary>
internal sealed class IterableChunkProducer<TSource>(IterableSource<TSource> source, LoaderState start, LoaderContext context, bool reservesBuffers)
    : ChunkProducer<TSource>(context, reservesBuffers)
{
    /// <summary>Items a chunk has room for at first: it grows to a batch as items come, so a huge batch size reserves nothing up front.</summary>
    private const int InitialChunkCapacity = 4096;

    private long _epoch;
    private long _position;

    public override string Describe() =>
        string.Create(CultureInfo.InvariantCulture, $"source (waiting for its next item after {Volatile.Read(ref _position)} items of epoch {Volatile.Read(ref _epoch)})");

    /// <summary>Sends chunk number <paramref name="sequence"/> of the epoch, unless the resume state says it was delivered: then it is emptied for reuse.</summary>
    private async ValueTask<bool> SendChunkAsync(ITargetBlock<Chunk<TSource>> target, Chunk<TSource> chunk, int sequence, long epoch, CancellationToken cancellationToken)
    {
        if (epoch == start.Epoch && start.Delivered(sequence))
        {
            chunk.Count = 0;
            return false;
        }

        await AgreeLayoutOnceAsync(chunk.Indices.AsMemory(0, chunk.Count), chunk.Items.AsMemory(0, chunk.Count), epoch).ConfigureAwait(false);
        chunk.Sequence = sequence;
        if (typeof(TSource) == typeof(TextLine))
        {
            // Where a tail's position after this chunk's batch is (FileTail.PositionAfter): its last line, failed or not.
            chunk.LastLine = Unsafe.As<TSource, TextLine>(ref chunk.Items[chunk.Count - 1]);
        }

        await SendAsync(target, chunk, cancellationToken).ConfigureAwait(false);
        return true;
    }

    public override async Task ProduceAsync(ITargetBlock<Chunk<TSource>> target, CancellationToken cancellationToken)
    {
        var (chunkSize, dropLast, batchTimeout) = (Options.BatchSize, Options.DropLast, Options.BatchTimeout);
        Chunk<TSource>? chunk = null;
        try
        {
            for (var epoch = start.Epoch; ; epoch++)
            {
                Volatile.Write(ref _epoch, epoch);
                Volatile.Write(ref _position, 0);
                int sequence = 0, sent = 0;
                chunk = Chunk<TSource>.Rent(Math.Min(chunkSize, InitialChunkCapacity), epoch);
                var items = source.Open(cancellationToken).GetAsyncEnumerator(cancellationToken);
                await using var itemsScope = items.ConfigureAwait(false);
                while (true)
                {
                    if (chunk.Count == 0)
                    {
                        // Nothing is read ahead of the consumer's request when Workers is 0.
                        await WaitForDemandAsync(cancellationToken).ConfigureAwait(false);
                    }

#pragma warning disable CA2012 // IsCompleted only peeks; the ValueTask is consumed once, awaited or as a task.
                    var next = items.MoveNextAsync();
                    if (!next.IsCompleted && chunk.Count > 0 && batchTimeout != Timeout.InfiniteTimeSpan)
                    {
                        // A live source went quiet: after the batch timeout the partial batch goes out as it is.
                        var pending = next.AsTask();
                        if (await Task.WhenAny(pending, Task.Delay(batchTimeout, Time, cancellationToken)).ConfigureAwait(false) != pending)
                        {
                            cancellationToken.ThrowIfCancellationRequested();
                            if (await SendChunkAsync(target, chunk, sequence++, epoch, cancellationToken).ConfigureAwait(false))
                            {
                                sent++;
                                chunk = Chunk<TSource>.Rent(Math.Min(chunkSize, InitialChunkCapacity), epoch);
                            }
                        }

                        next = new ValueTask<bool>(pending);
                    }
#pragma warning restore CA2012

                    if (!await next.ConfigureAwait(false))
                    {
                        break;
                    }

                    var item = items.Current;
                    if (chunk.Count == 0)
                    {
                        chunk.ReadAt = Time.GetTimestamp();
                    }
                    if (chunk.Count == chunk.Items.Length)
                    {
                        chunk.Grow((int)Math.Min(chunkSize, 2L * chunk.Count));
                    }

                    chunk.Items[chunk.Count] = item;
                    chunk.Indices[chunk.Count] = _position;
                    Volatile.Write(ref _position, _position + 1);
                    if (++chunk.Count == chunkSize && await SendChunkAsync(target, chunk, sequence++, epoch, cancellationToken).ConfigureAwait(false))
                    {
                        sent++;
                        chunk = Chunk<TSource>.Rent(Math.Min(chunkSize, InitialChunkCapacity), epoch);
                    }
                }

                if (chunk.Count > 0 && !dropLast)
                {
                    if (await SendChunkAsync(target, chunk, sequence++, epoch, cancellationToken).ConfigureAwait(false))
                    {
                        sent++;
                    }
                    else
                    {
                        chunk.Return();
                    }
                }
                else
                {
                    // Drop-last's partial batch was read from the source: it is accounted for as dropped.
                    Counters.Accounting.Add(epoch, Tally.Read, chunk.Count);
                    Counters.Accounting.Add(epoch, Tally.Dropped, chunk.Count);
                    chunk.Return();
                }

                chunk = null;
                await SendAsync(target, Chunk<TSource>.EpochEnd(epoch, sent), cancellationToken).ConfigureAwait(false);
                if (!source.Reenumerable || _position == 0)
                {
                    break;
                }

                if (Ledger is { } ledger)
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
