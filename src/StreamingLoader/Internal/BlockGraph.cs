using System.Threading.Tasks.Dataflow;

namespace StreamingLoader.Internal;

/// <summary>
/// The Dataflow blocks between the source and the consumer. Reading, transforming and collating a chunk run as one
/// parallel block (a hand-off per stage saved); a shuffle buffer splits it into prepare → regroup (shuffle buffer, buckets, packing) → collate. Every
/// block is bounded; the prefetch queue keeps the batches finished before an error, so the consumer reads them
/// before it sees the error.
/// </summary>
internal sealed class BlockGraph<TSource, T>
{
    private readonly TransformBlock<Chunk<TSource>, Chunk<T>>? _prepare;
    private readonly TransformManyBlock<Chunk<T>, Chunk<T>>? _shuffle;
    private readonly IReceivableSourceBlock<Delivery> _last;
    private readonly List<(PipelineStage Stage, Func<int> Depth)> _queues = [];
    private readonly HeldChunks<T>? _held;
    private readonly Regrouper<T>? _regroup;
    private readonly List<WorkerGate> _gates = [];
    private readonly int _workers;

    /// <summary>
    /// Builds the blocks. With <paramref name="disposesSamples"/> (the loader disposes the samples:
    /// <see cref="ChunkProcessor{TSource, T}.DisposesSamples"/>), the chunks queued between blocks are tracked, to be
    /// discarded after a stop (<see cref="DiscardHeld"/>).
    /// </summary>
    public BlockGraph(ChunkProcessor<TSource, T> processor, LoaderContext context, PipelineStage firstStage, Regrouper<T>? regroup, PipelineStage regroupStage, bool disposesSamples)
    {
        var (options, pool, counters, lifetime) = (context.Options, context.Pool, context.Counters, context.Lifetime);
        _regroup = regroup;

        // Samples the loader disposes are tracked while they wait between blocks (only regrouping queues them).
        var held = _held = regroup is not null && disposesSamples ? new HeldChunks<T>() : null;
        var poolCapacity = pool.Capacity;
        var token = lifetime.Token;

        // A block must not hold more batches than the pool has buffers: in an ordered block, finished later batches
        // keep their buffers until the earlier one is out, and that one may be waiting for a buffer.
        // Autotuned workers: the blocks are built for the most workers, and a WorkerGate in each sets how many run.
        var tuned = options.Workers == LoaderOptions.Auto;
        var capacity = Math.Min(Math.Max(2, options.EffectiveWorkers * 2), poolCapacity);
        var workers = Math.Min(options.EffectiveWorkers, capacity);
        (_workers, Capacity) = (workers, capacity);
        var gate = tuned ? Math.Min(AutotuneLimits.StartWorkers, workers) : (int?)null;
        var propagate = new DataflowLinkOptions { PropagateCompletion = true };
        Prefetch = new BufferBlock<Delivery>(new DataflowBlockOptions { BoundedCapacity = options.Prefetch == LoaderOptions.Auto ? poolCapacity : options.Prefetch });
        if (regroup is not null)
        {
            _prepare = Block<Chunk<TSource>, Chunk<T>>(
                !processor.Synchronous ? null : held is null ? processor.Prepare : chunk => Held(held, processor.Prepare(chunk)),
                held is null ? chunk => processor.PrepareAsync(chunk).AsTask() : async chunk => Held(held, await processor.PrepareAsync(chunk).ConfigureAwait(false)),
                Parallel(workers, capacity, true, token),
                gate,
                token);
            _shuffle = new TransformManyBlock<Chunk<T>, Chunk<T>>(
                chunk =>
                {
                    held?.Take(chunk);
                    var timer = StageTimer.Start(options.Name, regroupStage, counters.Stage(regroupStage), chunk.Count);
                    var output = new List<Chunk<T>>();
                    try
                    {
                        regroup.Process(chunk, output);
                    }
                    catch (DataLoaderException error)
                    {
                        // A sample's error under the fail policy: it travels on in order, after the batches before it.
                        lifetime.StopSource();
                        output.Add(Chunk<T>.Failed(error));
                    }

                    timer.Stop(output.Sum(c => c.Count));
                    if (held is not null)
                    {
                        // Held before reserving: a stop while reserving leaves the rest of the list unsent.
                        output.ForEach(held.Hold);
                    }

                    return Reserving(output, pool, token);
                },
                Parallel(1, capacity, true, token));
            var collate = Block<Chunk<T>, Delivery>(
                held is null ? processor.Collate : chunk =>
                {
                    held.Take(chunk);
                    return processor.Collate(chunk);
                },
                null,
                Parallel(workers, capacity, options.Ordered, token),
                gate,
                token);
            _prepare.LinkTo(_shuffle, propagate);
            _shuffle.LinkTo(collate, propagate);
            _queues.Add((firstStage, () => _prepare.InputCount));
            _queues.Add((regroupStage, () => _shuffle.InputCount));
            _queues.Add((PipelineStage.Collate, () => collate.InputCount));
            (Head, _last) = (_prepare, collate);
        }
        else
        {
            var work = Block<Chunk<TSource>, Delivery>(processor.Synchronous ? processor.Process : null, processor.ProcessAsync, Parallel(workers, capacity, options.Ordered, token), gate, token);
            _queues.Add((firstStage, () => work.InputCount));
            (Head, _last) = (work, work);
        }

        // Not propagated: a fault would drop the finished batches queued before it.
        _last.LinkTo(Prefetch);
        _queues.Add((PipelineStage.Prefetch, () => Prefetch.Count));

        // Every block, not only the last: a stopped collate block completes while the blocks before it may still run a
        // transform or wait to reserve a buffer, and disposal must not finish (and reclaim the pool) before they end.
        Task[] blocks = _prepare is null ? [_last.Completion] : [_prepare.Completion, _shuffle!.Completion, _last.Completion];
        Ended = Task.WhenAll(blocks).ContinueWith(
            completed =>
            {
                if (completed.Exception is { } bug)
                {
                    lifetime.Fail(bug.InnerException ?? bug);
                }

                Prefetch.Complete();
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    public ITargetBlock<Chunk<TSource>> Head { get; }

    /// <summary>Gets how many messages each parallel block works on at once (now, when autotuned).</summary>
    public int Workers => _gates.Count > 0 ? _gates[0].Limit : _workers;

    /// <summary>Gets the gates that set the parallel blocks' workers when they are autotuned; empty otherwise.</summary>
    public IReadOnlyList<WorkerGate> Gates => _gates;

    /// <summary>Gets how many messages each parallel block holds (input, in work and finished) at most.</summary>
    public int Capacity { get; }

    public BufferBlock<Delivery> Prefetch { get; }

    /// <summary>Gets a task that completes once every block has ended and the prefetch queue takes no more.</summary>
    public Task Ended { get; }

    public IReadOnlyList<(PipelineStage Stage, Func<int> Depth)> Queues => _queues;

    /// <summary>
    /// Disposes the samples the loader still holds for disposal (see <see cref="HeldChunks{T}"/>): those queued between
    /// blocks and those a regrouper keeps. Call once <see cref="Ended"/> has completed (no worker runs a chunk any more).
    /// </summary>
    public void DiscardHeld()
    {
        if (_held is null)
        {
            return;
        }

        _held.DiscardAll();
        _regroup?.DiscardHeld();
    }

    /// <summary>
    /// Takes whatever the blocks hold ready and recycles it. A stopping block whose input already ended keeps its
    /// outputs until they are taken, and once stopped nothing else takes them.
    /// </summary>
    public void Drain()
    {
        Recycle(_prepare);
        Recycle(_shuffle);
        Recycle(_last);
        Recycle(Prefetch);
    }

    private void Recycle(IReceivableSourceBlock<Chunk<T>>? block)
    {
        while (block is not null && block.TryReceive(out var chunk))
        {
            // Releases the chunk's buffer reservation, if it holds one (and disposes its samples if the loader does).
            if (_held is not null)
            {
                _held.Take(chunk);
                chunk.Discard();
            }
            else
            {
                chunk.Return();
            }
        }
    }

    private static void Recycle(IReceivableSourceBlock<Delivery> block)
    {
        while (block.TryReceive(out var delivery))
        {
            delivery.Batch?.Dispose();
        }
    }

    /// <summary>
    /// Reserves each chunk's buffer as the block hands it on, in the order the collate block keeps (see
    /// <see cref="BufferReservation"/>). One at a time: a chunk that makes many small batches (short buckets) would
    /// otherwise reserve more buffers than the pool has before the first of them could move on and free one.
    /// </summary>
    private static IEnumerable<Chunk<T>> Reserving(List<Chunk<T>> output, BatchPool pool, CancellationToken token)
    {
        foreach (var chunk in output)
        {
            if (!chunk.IsMarker)
            {
                chunk.Reservation = BufferReservation.Reserve(pool, token);
            }

            yield return chunk;
        }
    }

    private static Chunk<T> Held(HeldChunks<T>? held, Chunk<T> chunk)
    {
        held?.Hold(chunk);
        return chunk;
    }

    /// <summary>A parallel block of <paramref name="synchronous"/> (when not null) or <paramref name="asynchronous"/>, behind a <see cref="WorkerGate"/> of <paramref name="gate"/> workers when autotuned.</summary>
    private TransformBlock<TIn, TOut> Block<TIn, TOut>(Func<TIn, TOut>? synchronous, Func<TIn, Task<TOut>>? asynchronous, ExecutionDataflowBlockOptions options, int? gate, CancellationToken token)
    {
        if (gate is not { } limit)
        {
            return synchronous is not null ? new TransformBlock<TIn, TOut>(synchronous, options) : new TransformBlock<TIn, TOut>(asynchronous!, options);
        }

        var gated = new WorkerGate(limit, token);
        _gates.Add(gated);
        return new TransformBlock<TIn, TOut>(synchronous is not null ? gated.Wrap(synchronous) : gated.Wrap(asynchronous!), options);
    }

    private static ExecutionDataflowBlockOptions Parallel(int workers, int capacity, bool ordered, CancellationToken token) => new()
    {
        MaxDegreeOfParallelism = workers,
        BoundedCapacity = capacity,
        EnsureOrdered = ordered,
        SingleProducerConstrained = true,
        CancellationToken = token,
    };
}
