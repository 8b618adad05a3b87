using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Dataflow;

namespace StreamingLoader;

/// <summary>
/// The loader on TPL Dataflow: source → read → transform → shuffle → collate → prefetch, every block bounded, each
/// stage's output forwarded by a loop that measures how long the next stage kept it waiting (backpressure).
/// </summary>
internal sealed class DataflowLoader<TSource, T> : DataLoader, IMetricsSource
{
    private const string SourceStage = "source";
    private const string ReadStage = "read";
    private const string TransformStage = "transform";
    private const string ShuffleStage = "shuffle";
    private const string CollateStage = "collate";

    /// <summary>How many samples ahead the collate loop asks the CPU to fetch: random reads hide their latency.</summary>
    private const int PrefetchDistance = 16;

    /// <summary>How long the consumer spins for the next batch before it waits asynchronously.</summary>
    private const int SpinIterations = 20;

    private readonly SourceSpec _source;
    private readonly TransformChain<TSource, T> _chain;
    private readonly Collator<T> _collator;
    private readonly LoaderOptions _options;
    private readonly BatchSampler? _batchSampler;
    private readonly BatchPool _pool;
    private readonly CancellationTokenSource _cts = new();
    private readonly CancellationTokenSource _sourceStop;
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentQueue<DeadLetter> _deadLetters = new();
    private readonly List<Task> _tasks = [];
    private readonly List<(string Name, Func<int> Depth)> _queues = [];
    private readonly Lock _startLock = new();
    private readonly TimeProvider _time;
    private readonly LoaderState _start;
    private readonly IGatherDataset? _gather;
    private readonly PipelineCounters _counters = new();
    private readonly ConcurrentDictionary<long, int> _producedChunks = new();
    private readonly ConcurrentDictionary<long, int> _expectedChunks = new();
    private readonly SemaphoreSlim _chunkProduced = new(0);
    private BufferBlock<Delivery>? _prefetch;
    private ExceptionDispatchInfo? _fault;
    private LoaderState _state;
    private readonly Dictionary<long, int> _epochChunks = [];
    private readonly Dictionary<long, int> _chunksReceived = [];
    private readonly Queue<Delivery> _ahead = new();
    private bool _inEpoch;
    private int _reading;
    private int _disposed;
    private bool _started;

    public DataflowLoader(SourceSpec source, TransformChain<TSource, T> chain, Collator<T> collator, LoaderOptions options, LoaderState? resumeFrom)
    {
        _source = source;
        _chain = chain;
        _collator = collator;
        _options = options;
        _time = options.TimeProvider;
        var maxBatch = options.BatchSize;
        int batchesPerEpoch = -1, samplesPerEpoch = -1;
        if (source is MapSource<TSource> map)
        {
            _batchSampler = map.ResolveBatchSampler(options);
            maxBatch = _batchSampler.MaxBatchSize;
            batchesPerEpoch = _batchSampler.BatchesPerEpoch;
            samplesPerEpoch = map.Dataset.Count;
        }
        else if (resumeFrom is not null)
        {
            throw new NotSupportedException("Resuming is supported for map-style datasets; an iterable source has no replayable order.");
        }

        _start = resumeFrom ?? new LoaderState(0, 0, options.Seed, batchesPerEpoch, samplesPerEpoch);
        if (resumeFrom is not null)
        {
            if (resumeFrom.Seed != options.Seed || resumeFrom.BatchesPerEpoch != batchesPerEpoch || resumeFrom.SamplesPerEpoch != samplesPerEpoch)
            {
                throw new ArgumentException(
                    $"The state (seed {resumeFrom.Seed}, {resumeFrom.BatchesPerEpoch} batches of {resumeFrom.SamplesPerEpoch} samples per epoch) was saved by a loader configured differently from this one (seed {options.Seed}, {batchesPerEpoch} batches of {samplesPerEpoch} samples).",
                    nameof(resumeFrom));
            }

            if (resumeFrom.Epoch < 0 || resumeFrom.NextBatch < 0 || resumeFrom.NextBatch > batchesPerEpoch)
            {
                throw new ArgumentOutOfRangeException(nameof(resumeFrom), $"The state's position (epoch {resumeFrom.Epoch}, batch {resumeFrom.NextBatch}) is outside an epoch of {batchesPerEpoch} batches.");
            }
        }

        _state = _start;
        _pool = new BatchPool(options.EffectivePoolSize, maxBatch);
        _sourceStop = CancellationTokenSource.CreateLinkedTokenSource(_cts.Token);

        // Fast path: untransformed samples, copied as they are, from a dataset that can gather its own rows.
        if (chain.IsIdentity && collator is ICopyCollator && source is MapSource<TSource> { Dataset: IGatherDataset gather })
        {
            _gather = gather;
        }
    }

    public override LoaderOptions Options => _options.Clone();

    public override int? BatchesPerEpoch => _batchSampler?.BatchesPerEpoch;

    public override LoaderState State => Volatile.Read(ref _state);

    public override IReadOnlyList<DeadLetter> DeadLetters => [.. _deadLetters];

    public override Task Completion => _completion.Task;

    public string Name => _options.Name;

    public long PoolLeases => _pool.Outstanding;

    public long PoolCapacity => _pool.Capacity;

    public PipelineCounters Counters => _counters;

    internal BatchPool Pool => _pool;

    internal IReadOnlyList<Task> InternalTasks
    {
        get
        {
            lock (_startLock)
            {
                return [.. _tasks];
            }
        }
    }

    public IEnumerable<(string Stage, int Depth)> QueueDepths()
    {
        foreach (var (name, depth) in _queues)
        {
            yield return (name, depth());
        }
    }

    public override async IAsyncEnumerable<Batch> ReadEpochAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Exchange(ref _reading, 1) == 1)
        {
            throw new InvalidOperationException("Another read of this loader is in progress: a loader has one consumer at a time.");
        }

        try
        {
            EnsureStarted();
            if (_inEpoch)
            {
                // The previous reader left this epoch early: its remaining batches are not wanted.
                while (await NextAsync(Volatile.Read(ref _state).Epoch, cancellationToken).ConfigureAwait(false) is { Kind: DeliveryKind.Batch } rest)
                {
                    rest.Batch!.Dispose();
                }
            }

            _inEpoch = true;
            var epoch = Volatile.Read(ref _state).Epoch;
            var counters = _counters;
            while (true)
            {
                var waitStart = _time.GetTimestamp();
                var delivery = await NextAsync(epoch, cancellationToken).ConfigureAwait(false);
                Interlocked.Add(ref counters.WaitTicks, _time.GetElapsedTime(waitStart).Ticks);
                if (delivery.Kind != DeliveryKind.Batch)
                {
                    _inEpoch = false;
                    yield break;
                }

                var batch = delivery.Batch!;
                var current = Volatile.Read(ref _state);
                batch.SetIndex(current.NextBatch);
                Volatile.Write(ref _state, current with { NextBatch = current.NextBatch + 1 });
                _pool.MarkHandedOut(batch);
                Interlocked.Add(ref counters.Samples, batch.Count);
                Interlocked.Increment(ref counters.Batches);
                Interlocked.Add(ref counters.Bytes, batch.ByteLength);
                var stepStart = _time.GetTimestamp();
                yield return batch;
                Interlocked.Add(ref counters.StepTicks, _time.GetElapsedTime(stepStart).Ticks);
            }
        }
        finally
        {
            Volatile.Write(ref _reading, 0);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await ShutdownAsync().ConfigureAwait(false);
        _completion.TrySetCanceled();
        _sourceStop.Dispose();
        _cts.Dispose();
        _chunkProduced.Dispose();
    }

    /// <summary>
    /// The next batch of <paramref name="epoch"/>, or its end (then the state moves to the next epoch), or the end
    /// of the source. Unordered batches of a later epoch that overtake this one wait aside until their epoch is read;
    /// the epoch ends once its end marker came and as many chunks as the marker counts.
    /// </summary>
    private async ValueTask<Delivery> NextAsync(long epoch, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_epochChunks.TryGetValue(epoch, out var expected) && _chunksReceived.GetValueOrDefault(epoch) == expected)
            {
                _epochChunks.Remove(epoch);
                _chunksReceived.Remove(epoch);
                var state = Volatile.Read(ref _state);
                Volatile.Write(ref _state, state with { Epoch = epoch + 1, NextBatch = 0 });
                return new Delivery(null, epoch, DeliveryKind.EpochEnd);
            }

            Delivery delivery;
            if (_ahead.Count > 0 && _ahead.Peek().Epoch == epoch)
            {
                delivery = _ahead.Dequeue();
            }
            else
            {
                delivery = await ReceiveAsync(cancellationToken).ConfigureAwait(false);
                if (delivery.Kind == DeliveryKind.Completed)
                {
                    return delivery;
                }

                if (delivery.Kind == DeliveryKind.EpochEnd)
                {
                    _epochChunks[delivery.Epoch] = delivery.Chunks;
                    continue;
                }

                if (delivery.Epoch != epoch)
                {
                    _ahead.Enqueue(delivery);
                    continue;
                }
            }

            _chunksReceived[epoch] = _chunksReceived.GetValueOrDefault(epoch) + 1;
            if (delivery.Kind == DeliveryKind.Batch)
            {
                return delivery;
            }
        }
    }

    private async ValueTask<Delivery> ReceiveAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            // Canceled before asking: no further batch, even one that is ready.
            await ShutdownAsync().ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }

        var prefetch = _prefetch!;
        while (true)
        {
            if (prefetch.TryReceive(out var delivery))
            {
                if (delivery.Error is { } error)
                {
                    Interlocked.CompareExchange(ref _fault, ExceptionDispatchInfo.Capture(error), null);
                    await ShutdownAsync().ConfigureAwait(false);
                    _fault!.Throw();
                }

                return delivery;
            }

            // A batch is usually microseconds away: spinning briefly is cheaper than parking the consumer's thread.
            if (SpinForOutput(prefetch))
            {
                continue;
            }

            _fault?.Throw();
            if (_pool.HeldByConsumer >= _pool.Capacity)
            {
                throw new InvalidOperationException(
                    $"All {_pool.Capacity} batch buffers are held by the consumer, so no further batch can be made. Dispose each batch when done with it (using var batch = ...), or raise LoaderOptions.PoolSize to keep more batches at once.");
            }

            bool available;
            try
            {
                available = await prefetch.OutputAvailableAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await ShutdownAsync().ConfigureAwait(false);
                throw;
            }

            if (!available)
            {
                _fault?.Throw();
                if (_cts.IsCancellationRequested)
                {
                    throw new OperationCanceledException("The loader was canceled.", _cts.Token);
                }

                return new Delivery(null, -1, DeliveryKind.Completed);
            }
        }
    }

    private static bool SpinForOutput(BufferBlock<Delivery> prefetch)
    {
        var spinner = default(SpinWait);
        for (var i = 0; i < SpinIterations; i++)
        {
            if (prefetch.Count > 0)
            {
                return true;
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }

        return false;
    }

    private void EnsureStarted()
    {
        lock (_startLock)
        {
            if (_started)
            {
                return;
            }

            _started = true;
            Start();
        }
    }

    /// <summary>
    /// Builds the blocks. Reading, transforming and collating a chunk run as one parallel block (as a PyTorch worker
    /// fetches, transforms and collates its batch), which saves a hand-off per stage; a shuffle buffer splits them.
    /// Each sub-stage still reports its own metrics.
    /// </summary>
    private void Start()
    {
        var token = _cts.Token;
        var ordered = _options.Ordered;

        // A block must not hold more batches than the pool has buffers: in an ordered block, finished later batches
        // keep their buffers until the earlier one is out, and that one may be waiting for a buffer.
        var capacity = Math.Min(Math.Max(2, _options.Workers * 2), _pool.Capacity);
        var workers = Math.Min(_options.Workers, capacity);
        var propagate = new DataflowLinkOptions { PropagateCompletion = true };
        var firstStage = _source is MapSource<TSource> ? ReadStage : _chain.IsIdentity ? CollateStage : TransformStage;
        _prefetch = new BufferBlock<Delivery>(new DataflowBlockOptions { BoundedCapacity = _options.Prefetch });

        ITargetBlock<Chunk<TSource>> head;
        ISourceBlock<Delivery> last;
        if (_options.ShuffleBufferSize > 0)
        {
            var prepare = _chain.Async is null
                ? new TransformBlock<Chunk<TSource>, Chunk<T>>(chunk => Guard(chunk, Prepare), Parallel(workers, capacity, true, token))
                : new TransformBlock<Chunk<TSource>, Chunk<T>>(chunk => GuardAsync(chunk, PrepareAsync), Parallel(workers, capacity, true, token));
            var shuffle = new ShuffleBuffer<T>(_options.ShuffleBufferSize, _options.BatchSize, _options.Seed);
            var shuffleBlock = new TransformManyBlock<Chunk<T>, Chunk<T>>(
                chunk =>
                {
                    var timer = StartStage(ShuffleStage, chunk.Count);
                    var output = shuffle.Process(chunk);
                    timer.Stop(output.Sum(c => c.Count));
                    return output;
                },
                Parallel(1, capacity, true, token));
            var collate = new TransformBlock<Chunk<T>, Delivery>(chunk => Produced(Guard(chunk, Collate)), Parallel(workers, capacity, ordered, token));
            prepare.LinkTo(shuffleBlock, propagate);
            shuffleBlock.LinkTo(collate, propagate);
            _queues.Add((firstStage, () => prepare.InputCount));
            _queues.Add((ShuffleStage, () => shuffleBlock.InputCount));
            _queues.Add((CollateStage, () => collate.InputCount));
            _tasks.AddRange([prepare.Completion, shuffleBlock.Completion]);
            (head, last) = (prepare, collate);
        }
        else
        {
            var work = _chain.Async is null
                ? new TransformBlock<Chunk<TSource>, Delivery>(chunk => Produced(Guard(Guard(chunk, Prepare), Collate)), Parallel(workers, capacity, ordered, token))
                : new TransformBlock<Chunk<TSource>, Delivery>(async chunk => Produced(Guard(await GuardAsync(chunk, PrepareAsync).ConfigureAwait(false), Collate)), Parallel(workers, capacity, ordered, token));
            _queues.Add((firstStage, () => work.InputCount));
            (head, last) = (work, work);
        }

        // The last link does not propagate a fault: the prefetch queue keeps the batches finished before an error,
        // and the consumer reads them before it sees the error.
        last.LinkTo(_prefetch);
        _tasks.Add(last.Completion.ContinueWith(
            completed =>
            {
                if (completed.Exception is { } bug)
                {
                    Fail(bug.InnerException ?? bug);
                }

                _prefetch.Complete();
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default));
        _queues.Add(("prefetch", () => _prefetch.Count));

        var sourceToken = _sourceStop.Token;
        _tasks.Add(_source is MapSource<TSource>
            ? Task.Run(() => ProduceMapAsync(head, sourceToken), CancellationToken.None)
            : Task.Run(() => ProduceIterableAsync((IterableSource<TSource>)_source, head, sourceToken), CancellationToken.None));
        LoaderMetrics.Register(this);
        _ = MonitorAsync();
    }

    /// <summary>Counts what the last stage produced per epoch, for <see cref="WaitForEpochAsync"/>.</summary>
    private Delivery Produced(Delivery delivery)
    {
        if (!_options.Ordered && delivery.Kind != DeliveryKind.Completed)
        {
            if (delivery.Kind == DeliveryKind.EpochEnd)
            {
                _expectedChunks[delivery.Epoch] = delivery.Chunks;
            }
            else
            {
                _producedChunks.AddOrUpdate(delivery.Epoch, 1, static (_, n) => n + 1);
            }

            _chunkProduced.Release();
        }

        return delivery;
    }

    /// <summary>
    /// Unordered only: waits until every batch of <paramref name="epoch"/> has been made before the next epoch starts.
    /// Otherwise the next epoch's batches, set aside until their epoch is read, could take every buffer while a
    /// straggler of this epoch waits for one.
    /// </summary>
    private async ValueTask WaitForEpochAsync(long epoch, CancellationToken token)
    {
        if (_options.Ordered)
        {
            return;
        }

        while (!_expectedChunks.TryGetValue(epoch, out var expected) || _producedChunks.GetValueOrDefault(epoch) < expected)
        {
            await _chunkProduced.WaitAsync(token).ConfigureAwait(false);
        }

        _expectedChunks.TryRemove(epoch, out _);
        _producedChunks.TryRemove(epoch, out _);
    }

    private static ExecutionDataflowBlockOptions Parallel(int workers, int capacity, bool ordered, CancellationToken token) => new()
    {
        MaxDegreeOfParallelism = workers,
        BoundedCapacity = capacity,
        EnsureOrdered = ordered,
        SingleProducerConstrained = true,
        CancellationToken = token,
    };

    private async Task ProduceMapAsync(ITargetBlock<Chunk<TSource>> target, CancellationToken token)
    {
        var sampler = _batchSampler!;
        var count = ((MapSource<TSource>)_source).Dataset.Count;
        try
        {
            for (var epoch = _start.Epoch; ; epoch++)
            {
                var batches = sampler.GetBatches(_options.Seed, epoch);
                var first = epoch == _start.Epoch ? _start.NextBatch : 0;
                var sent = 0;
                for (var b = first; b < batches.Count; b++)
                {
                    var indices = batches[b].Span;
                    var chunk = Chunk<TSource>.Rent(indices.Length, epoch);
                    for (var i = 0; i < indices.Length; i++)
                    {
                        if ((uint)indices[i] >= (uint)count)
                        {
                            chunk.Return();
                            throw new DataLoaderException(SourceStage, epoch, indices[i], new InvalidOperationException($"The sampler yielded index {indices[i]} but the dataset has {count} samples."));
                        }

                        chunk.Indices[i] = indices[i];
                    }

                    chunk.Count = indices.Length;
                    Interlocked.Add(ref _counters.Stage(SourceStage).ItemsOut, chunk.Count);
                    await SendAsync(SourceStage, target, chunk, token).ConfigureAwait(false);
                    sent++;
                }

                await SendAsync(SourceStage, target, Chunk<TSource>.EpochEnd(epoch, sent), token).ConfigureAwait(false);
                await WaitForEpochAsync(epoch, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            target.Complete();
        }
        catch (Exception ex)
        {
            await EndWithErrorAsync(target, null, ex as DataLoaderException ?? new DataLoaderException(0, $"The sampler failed: {ex.Message}", ex)).ConfigureAwait(false);
        }
    }

    /// <summary>Sends what the source read before it failed, then the error, in order; then ends the source.</summary>
    private async Task EndWithErrorAsync(ITargetBlock<Chunk<TSource>> target, Chunk<TSource>? partial, DataLoaderException error)
    {
        try
        {
            if (partial is { Count: > 0 })
            {
                await target.SendAsync(partial, _cts.Token).ConfigureAwait(false);
            }

            await target.SendAsync(Chunk<TSource>.Failed(error), _cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        target.Complete();
    }

    private async Task ProduceIterableAsync(IterableSource<TSource> source, ITargetBlock<Chunk<TSource>> target, CancellationToken token)
    {
        var chunkSize = _options.BatchSize;
        var sourceCounters = _counters.Stage(SourceStage);
        long epoch = 0;
        long position = 0;
        Chunk<TSource>? chunk = null;
        try
        {
            for (; ; epoch++)
            {
                position = 0;
                var sent = 0;
                chunk = Chunk<TSource>.Rent(chunkSize, epoch);
                await foreach (var item in source.Open(token).WithCancellation(token).ConfigureAwait(false))
                {
                    chunk.Items[chunk.Count] = item;
                    chunk.Indices[chunk.Count] = position++;
                    if (++chunk.Count == chunkSize)
                    {
                        Interlocked.Add(ref sourceCounters.ItemsOut, chunk.Count);
                        await SendAsync(SourceStage, target, chunk, token).ConfigureAwait(false);
                        sent++;
                        chunk = Chunk<TSource>.Rent(chunkSize, epoch);
                    }
                }

                if (chunk.Count > 0)
                {
                    Interlocked.Add(ref sourceCounters.ItemsOut, chunk.Count);
                    await SendAsync(SourceStage, target, chunk, token).ConfigureAwait(false);
                    sent++;
                }
                else
                {
                    chunk.Return();
                }

                chunk = null;
                await SendAsync(SourceStage, target, Chunk<TSource>.EpochEnd(epoch, sent), token).ConfigureAwait(false);
                if (!source.Reenumerable || position == 0)
                {
                    break;
                }

                await WaitForEpochAsync(epoch, token).ConfigureAwait(false);
            }

            target.Complete();
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            target.Complete();
        }
        catch (Exception ex)
        {
            var error = ex as DataLoaderException ?? new DataLoaderException(epoch, $"The source failed after {position} items of epoch {epoch}: {ex.Message}", ex);
            await EndWithErrorAsync(target, chunk, error).ConfigureAwait(false);
        }
    }

    /// <summary>Reads (map-style) and transforms a chunk: everything before the shuffle buffer and collation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private Chunk<T> Prepare(Chunk<TSource> chunk)
    {
        Read(chunk);
        if (chunk.IsMarker)
        {
            return chunk.AsMarker<T>();
        }

        if (_chain.Sync is not { } transform)
        {
            return (Chunk<T>)(object)chunk;
        }

        var timer = StartStage(TransformStage, chunk.Count);
        var output = Chunk<T>.Rent(chunk.Count, chunk.Epoch);
        for (var i = 0; i < chunk.Count; i++)
        {
            var index = chunk.Indices[i];
            try
            {
                output.Items[output.Count] = transform(chunk.Items[i], new SampleContext(_options.Seed, chunk.Epoch, index));
                output.Indices[output.Count++] = index;
            }
            catch (Exception ex) when (IsSampleError(ex))
            {
                Reject(TransformStage, chunk.Epoch, index, ex);
            }
        }

        chunk.Return();
        timer.Stop(output.Count);
        return output;
    }

    private async Task<Chunk<T>> PrepareAsync(Chunk<TSource> chunk)
    {
        Read(chunk);
        if (chunk.IsMarker)
        {
            return chunk.AsMarker<T>();
        }

        var timer = StartStage(TransformStage, chunk.Count);
        var transform = _chain.Async!;
        var output = Chunk<T>.Rent(chunk.Count, chunk.Epoch);
        for (var i = 0; i < chunk.Count; i++)
        {
            var index = chunk.Indices[i];
            try
            {
                output.Items[output.Count] = await transform(chunk.Items[i], new SampleContext(_options.Seed, chunk.Epoch, index), _cts.Token).ConfigureAwait(false);
                output.Indices[output.Count++] = index;
            }
            catch (Exception ex) when (IsSampleError(ex))
            {
                Reject(TransformStage, chunk.Epoch, index, ex);
            }
        }

        chunk.Return();
        timer.Stop(output.Count);
        return output;
    }

    /// <summary>Fills a map-style chunk's samples from the dataset; iterable chunks arrive filled.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Read(Chunk<TSource> chunk)
    {
        if (chunk.IsMarker || _source is not MapSource<TSource> map || _gather is not null)
        {
            return;
        }

        var timer = StartStage(ReadStage, chunk.Count);
        var dataset = map.Dataset;
        if (dataset is not IBatchedDataset<TSource> batched || !TryReadMany(batched, chunk))
        {
            for (var i = 0; i < chunk.Count; i++)
            {
                try
                {
                    chunk.Items[i] = dataset.GetItem((int)chunk.Indices[i]);
                }
                catch (Exception ex) when (IsSampleError(ex))
                {
                    Reject(ReadStage, chunk.Epoch, chunk.Indices[i], ex);
                    chunk.RemoveAt(i--);
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

    /// <summary>
    /// Writes a chunk into a pooled batch. Waiting for a free buffer is the pipeline's backpressure from the consumer,
    /// and is counted as this stage's blocked time; the wait blocks one worker thread, which is cheaper per batch
    /// than an asynchronous hand-off.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private Delivery Collate(Chunk<T> chunk)
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
            return new Delivery(null, chunk.Epoch, DeliveryKind.Empty);
        }

        if (_pool.Layout is null)
        {
            try
            {
                var first = _gather is null ? chunk.Items[0] : (T)(object)((MapSource<TSource>)_source).Dataset.GetItem((int)chunk.Indices[0])!;
                _pool.EnsureLayout(_collator.GetLayout(first));
            }
            catch (Exception ex)
            {
                throw new DataLoaderException(CollateStage, chunk.Epoch, chunk.Indices[0], ex);
            }
        }

        var waitStart = _time.GetTimestamp();
        var batch = _pool.Rent(_cts.Token, out var waited);
        if (waited)
        {
            Interlocked.Add(ref _counters.Stage(CollateStage).BlockedTicks, _time.GetElapsedTime(waitStart).Ticks);
        }

        var timer = StartStage(CollateStage, chunk.Count);
        try
        {
            batch.Reset(chunk.Epoch, chunk.Count);
            var indices = batch.IndexBuffer;
            var items = chunk.Items;
            var slot = 0;
            if (_gather is not null)
            {
                _gather.Gather(chunk.IndexSpan, batch);
                chunk.IndexSpan.CopyTo(indices);
                slot = chunk.Count;
            }

            for (var i = slot; i < chunk.Count; i++)
            {
                try
                {
                    if (i + PrefetchDistance < chunk.Count)
                    {
                        _collator.Prefetch(in items[i + PrefetchDistance]);
                    }

                    _collator.Write(in items[i], slot, batch);
                    indices[slot++] = chunk.Indices[i];
                }
                catch (Exception ex) when (IsSampleError(ex))
                {
                    Reject(CollateStage, chunk.Epoch, chunk.Indices[i], ex);
                }
            }

            batch.SetCount(slot);
            chunk.Return();
            timer.Stop(slot);
            if (slot == 0)
            {
                batch.Dispose();
                return new Delivery(null, chunk.Epoch, DeliveryKind.Empty);
            }

            return new Delivery(batch, chunk.Epoch, DeliveryKind.Batch);
        }
        catch
        {
            batch.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs a step; a sample error becomes an error marker that travels on in order, so the consumer first gets the
    /// batches before it, and the source stops reading.
    /// </summary>
    private TOut Guard<TIn, TOut>(Chunk<TIn> chunk, Func<Chunk<TIn>, TOut> step)
    {
        try
        {
            return step(chunk);
        }
        catch (DataLoaderException error)
        {
            return OnSampleError<TIn, TOut>(chunk, error);
        }
    }

    private async Task<TOut> GuardAsync<TIn, TOut>(Chunk<TIn> chunk, Func<Chunk<TIn>, Task<TOut>> step)
    {
        try
        {
            return await step(chunk).ConfigureAwait(false);
        }
        catch (DataLoaderException error)
        {
            return OnSampleError<TIn, TOut>(chunk, error);
        }
    }

    private TOut OnSampleError<TIn, TOut>(Chunk<TIn> chunk, DataLoaderException error)
    {
        StopSource();
        chunk.Return();
        object marker = typeof(TOut) == typeof(Delivery) ? new Delivery(null, error.Epoch, DeliveryKind.Error, error) : Chunk<T>.Failed(error);
        return (TOut)marker;
    }

    private void StopSource()
    {
        try
        {
            _sourceStop.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private bool IsSampleError(Exception error) => !(error is OperationCanceledException && _cts.IsCancellationRequested);

    /// <summary>
    /// Decides a failed sample's fate: under Skip it becomes a dead letter and the stage drops it; under Fail the
    /// pipeline faults with the sample's index.
    /// </summary>
    private void Reject(string stage, long epoch, long index, Exception error)
    {
        var policy = _options.ErrorPolicy;
        LoaderMetrics.Errors.Add(1, new TagList { { LoaderMetrics.PipelineTag, _options.Name }, { LoaderMetrics.StageTag, stage }, { LoaderMetrics.PolicyTag, policy == ErrorPolicy.Skip ? "skip" : "fail" } });
        if (policy != ErrorPolicy.Skip)
        {
            throw new DataLoaderException(stage, epoch, index, error);
        }

        _deadLetters.Enqueue(new DeadLetter(stage, epoch, index, error));
    }

    private StageTimer StartStage(string stage, int items) => StageTimer.Start(_options.Name, stage, _counters.Stage(stage), items);

    /// <summary>Sends to the next stage, adding the time spent waiting for room to the stage's blocked time.</summary>
    private async ValueTask SendAsync<TItem>(string stage, ITargetBlock<TItem> target, TItem item, CancellationToken token)
    {
        if (target.Post(item))
        {
            return;
        }

        var start = _time.GetTimestamp();
        var accepted = await target.SendAsync(item, token).ConfigureAwait(false);
        Interlocked.Add(ref _counters.Stage(stage).BlockedTicks, _time.GetElapsedTime(start).Ticks);
        if (!accepted)
        {
            token.ThrowIfCancellationRequested();
            _fault?.Throw();
            throw new OperationCanceledException("The next stage stopped accepting input.");
        }
    }

    /// <summary>Records the first error and stops every stage; the consumer sees the error after the batches before it.</summary>
    private Exception Fail(Exception error)
    {
        if (error is not OperationCanceledException)
        {
            Interlocked.CompareExchange(ref _fault, ExceptionDispatchInfo.Capture(error), null);
        }

        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }

        return error;
    }

    private async Task MonitorAsync()
    {
        Task[] tasks;
        lock (_startLock)
        {
            tasks = [.. _tasks];
        }

        await Task.WhenAll(tasks).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);

        // After an error the consumer still reads what was finished before it; then the rest is reclaimed.
        await _prefetch!.Completion.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _pool.ReclaimAllUndelivered();
        LoaderMetrics.Unregister(this);
        if (_fault is not null)
        {
            _completion.TrySetException(_fault.SourceException);
        }
        else if (_cts.IsCancellationRequested)
        {
            _completion.TrySetCanceled(_cts.Token);
        }
        else
        {
            _completion.TrySetResult();
        }
    }

    private async ValueTask ShutdownAsync()
    {
        Fail(new OperationCanceledException());
        Task[] tasks;
        lock (_startLock)
        {
            _started = true;
            tasks = [.. _tasks];
        }

        await Task.WhenAll(tasks).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_prefetch is not null)
        {
            _prefetch.Complete();
            while (_prefetch.TryReceive(out var delivery))
            {
                delivery.Batch?.Dispose();
            }
        }

        while (_ahead.TryDequeue(out var early))
        {
            early.Batch?.Dispose();
        }

        _pool.ReclaimAllUndelivered();
        _pool.Dispose();
        LoaderMetrics.Unregister(this);
    }
}

internal enum DeliveryKind
{
    Batch,
    EpochEnd,
    Empty,
    Error,
    Completed,
}

/// <summary>What reaches the consumer: a batch, an empty chunk (all skipped), an epoch's end with its chunk count, or an error.</summary>
internal readonly record struct Delivery(Batch? Batch, long Epoch, DeliveryKind Kind, DataLoaderException? Error = null, int Chunks = 0);
