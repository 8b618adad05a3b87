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
    private readonly List<WorkerGate> _gates = [];
    private readonly int _workers;

    public BlockGraph(ChunkProcessor<TSource, T> processor, LoaderContext context, PipelineStage firstStage, Regrouper<T>? regroup, PipelineStage regroupStage)
    {
        var (options, pool, counters, lifetime) = (context.Options, context.Pool, context.Counters, context.Lifetime);
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
            _prepare = Block<Chunk<TSource>, Chunk<T>>(processor.Synchronous ? processor.Prepare : null, chunk => processor.PrepareAsync(chunk).AsTask(), Parallel(workers, capacity, true, token), gate, token);
            _shuffle = new TransformManyBlock<Chunk<T>, Chunk<T>>(
                chunk =>
                {
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

                    return Reserving(output, pool, token);
                },
                Parallel(1, capacity, true, token));
            var collate = Block<Chunk<T>, Delivery>(processor.Collate, null, Parallel(workers, capacity, options.Ordered, token), gate, token);
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

    private static void Recycle(IReceivableSourceBlock<Chunk<T>>? block)
    {
        while (block is not null && block.TryReceive(out var chunk))
        {
            // Releases the chunk's buffer reservation, if it holds one.
            chunk.Return();
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
