using System.Threading.Tasks.Dataflow;

namespace StreamingLoader.Internal;

/// <summary>
/// Feeds the pipeline's first block with chunks of one source kind, epoch after epoch, each epoch closed by an end
/// marker that counts its chunks. Waiting for room in the first block is the source's blocked time.
/// </summary>
/// <remarks>
/// With a <c>pool</c>, each chunk reserves its batch buffer here, in the source's order, before any worker sees it:
/// see <see cref="BatchPool.ReserveAsync"/>. (With a shuffle buffer the shuffle block reserves instead.)
/// </remarks>
internal abstract class ChunkProducer<TSource>(PipelineCounters counters, TimeProvider time, LoaderLifetime lifetime, BatchPool? pool)
{
    private bool _layoutAgreed;

    /// <summary>Gets or sets the consumer's requests when nothing is read ahead (Workers = 0); null to read ahead.</summary>
    public Demand? Demand { get; set; }

    /// <summary>Waits, when nothing is read ahead, until the consumer asks for the next batch.</summary>
    protected ValueTask WaitForDemandAsync(CancellationToken cancellationToken) =>
        Demand is { } demand ? new ValueTask(demand.WaitAsync(cancellationToken)) : ValueTask.CompletedTask;

    /// <summary>Gets or sets what agrees the batch layout from the first samples before the first chunk is sent.</summary>
    public Func<ReadOnlyMemory<long>, ReadOnlyMemory<TSource>, long, ValueTask>? AgreeLayout { get; set; }

    protected PipelineCounters Counters => counters;

    /// <summary>Gets whether the layout is still to be agreed (so the samples to agree it from are worth gathering).</summary>
    protected bool NeedsLayout => !_layoutAgreed && AgreeLayout is not null;

    protected LoaderLifetime Lifetime => lifetime;

    /// <summary>Gets the clock, for when samples were read.</summary>
    protected TimeProvider Time => time;

    /// <summary>Gets where the source is now, for an error or an abandoned read.</summary>
    public abstract string Describe();

    /// <summary>Sends chunks to <paramref name="target"/> until the source ends, fails or is stopped; then completes it.</summary>
    public abstract Task ProduceAsync(ITargetBlock<Chunk<TSource>> target, CancellationToken cancellationToken);

    /// <summary>Sends to the first block, adding the time spent waiting for room to the source's blocked time.</summary>
    protected async ValueTask SendAsync(ITargetBlock<Chunk<TSource>> target, Chunk<TSource> chunk, CancellationToken cancellationToken)
    {
        if (!chunk.IsMarker)
        {
            Interlocked.Add(ref counters.Stage(PipelineStage.Source).ItemsOut, chunk.Count);
            if (pool is not null)
            {
                var reserving = pool.ReserveAsync(cancellationToken);
                if (!reserving.IsCompletedSuccessfully)
                {
                    var waiting = counters.StartSourceWait(time);
                    try
                    {
                        await reserving.ConfigureAwait(false);
                    }
                    finally
                    {
                        waiting.Stop();
                    }
                }

                chunk.HasReservation = true;
            }
        }

        if (!chunk.IsMarker)
        {
            counters.Accounting.Add(chunk.Epoch, Tally.Read, chunk.Count);
        }

        if (target.Post(chunk))
        {
            return;
        }

        bool accepted;
        var blocked = counters.StartSourceWait(time);
        try
        {
            accepted = await target.SendAsync(chunk, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            blocked.Stop();
        }

        if (!accepted)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw new OperationCanceledException("The pipeline stopped accepting input.");
        }
    }

    /// <summary>Agrees the layout from these first samples (indices, and the items for an iterable source), once.</summary>
    protected async ValueTask AgreeLayoutOnceAsync(ReadOnlyMemory<long> indices, ReadOnlyMemory<TSource> items, long epoch)
    {
        if (!_layoutAgreed && AgreeLayout is { } agree)
        {
            _layoutAgreed = true;
            await agree(indices, items, epoch).ConfigureAwait(false);
        }
    }

    /// <summary>Sends what the source read before it failed, then the error, in order; then ends the source.</summary>
    protected async Task EndWithErrorAsync(ITargetBlock<Chunk<TSource>> target, Chunk<TSource>? partial, DataLoaderException error)
    {
        try
        {
            if (partial is { Count: > 0 })
            {
                counters.Accounting.Add(partial.Epoch, Tally.Read, partial.Count);
                await target.SendAsync(partial, lifetime.Token).ConfigureAwait(false);
            }

            await target.SendAsync(Chunk<TSource>.Failed(error), lifetime.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        target.Complete();
    }
}
