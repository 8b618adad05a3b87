using System.Threading.Tasks.Dataflow;

namespace StreamingLoader.Internal;

/// <summary>
/// Feeds the pipeline's first block with chunks of one source kind, epoch after epoch, each epoch closed by an end
/// marker that counts its chunks. Waiting for room in the first block is the source's blocked time.
/// </summary>
/// <remarks>
/// When it <c>reservesBuffers</c>, each chunk reserves its batch buffer here, in the source's order, before any worker sees it:
/// see <see cref="BufferReservation"/>. (With a regroup stage that stage reserves instead.)
/// </remarks>
internal abstract class ChunkProducer<TSource>(LoaderContext context, bool reservesBuffers)
{
    private bool _layoutAgreed;

    /// <summary>Waits, when nothing is read ahead (Workers = 0), until the consumer asks for the next batch.</summary>
    protected ValueTask WaitForDemandAsync(CancellationToken cancellationToken) =>
        context.Demand is { } demand ? new ValueTask(demand.WaitAsync(cancellationToken)) : ValueTask.CompletedTask;

    /// <summary>Gets or sets what agrees the batch layout from the first samples before the first chunk is sent.</summary>
    public Func<ReadOnlyMemory<long>, ReadOnlyMemory<TSource>, long, ValueTask>? AgreeLayout { get; set; }

    protected PipelineCounters Counters => context.Counters;

    protected LoaderOptions Options => context.Options;

    /// <summary>Gets the ledger to wait on at an epoch's end before the next, or null (see <see cref="LoaderContext.SourceLedger"/>).</summary>
    protected EpochLedger? Ledger => context.SourceLedger;

    /// <summary>Gets whether the layout is still to be agreed (so the samples to agree it from are worth gathering).</summary>
    protected bool NeedsLayout => !_layoutAgreed && AgreeLayout is not null;

    protected LoaderLifetime Lifetime => context.Lifetime;

    /// <summary>Gets the clock, for when samples were read.</summary>
    protected TimeProvider Time => context.Time;

    /// <summary>Gets where the source is now, for an error or an abandoned read.</summary>
    public abstract string Describe();

    /// <summary>Sends chunks to <paramref name="target"/> until the source ends, fails or is stopped; then completes it.</summary>
    public abstract Task ProduceAsync(ITargetBlock<Chunk<TSource>> target, CancellationToken cancellationToken);

    /// <summary>Sends to the first block, adding the time spent waiting for room to the source's blocked time.</summary>
    protected async ValueTask SendAsync(ITargetBlock<Chunk<TSource>> target, Chunk<TSource> chunk, CancellationToken cancellationToken)
    {
        if (!chunk.IsMarker)
        {
            Interlocked.Add(ref Counters.Stage(PipelineStage.Source).ItemsOut, chunk.Count);
            if (reservesBuffers)
            {
                chunk.Reservation = await ReserveAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        if (!chunk.IsMarker)
        {
            Counters.Accounting.Add(chunk.Epoch, Tally.Read, chunk.Count);
        }

        if (target.Post(chunk))
        {
            return;
        }

        bool accepted = false;
        var blocked = Counters.StartSourceWait(Time);
        try
        {
            accepted = await target.SendAsync(chunk, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            blocked.Stop();
            if (!accepted)
            {
                // The pipeline did not take the chunk: its buffer goes back (the chunk itself may yet be sent as a partial).
                chunk.Reservation?.Release();
            }
        }

        if (!accepted)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw new OperationCanceledException("The pipeline stopped accepting input.");
        }
    }

    /// <summary>Reserves the chunk's buffer, adding the time spent waiting for one to the source's blocked time.</summary>
    private async ValueTask<BufferReservation> ReserveAsync(CancellationToken cancellationToken)
    {
        var reserving = BufferReservation.ReserveAsync(context.Pool, cancellationToken);
        if (reserving.IsCompletedSuccessfully)
        {
            return reserving.Result;
        }

        var waiting = Counters.StartSourceWait(Time);
        try
        {
            return await reserving.ConfigureAwait(false);
        }
        finally
        {
            waiting.Stop();
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
                Counters.Accounting.Add(partial.Epoch, Tally.Read, partial.Count);
                await target.SendAsync(partial, Lifetime.Token).ConfigureAwait(false);
            }

            await target.SendAsync(Chunk<TSource>.Failed(error), Lifetime.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        target.Complete();
    }
}
