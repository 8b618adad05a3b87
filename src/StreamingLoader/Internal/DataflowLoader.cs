using StreamingLoader.Internal;
using System.Runtime.CompilerServices;

namespace StreamingLoader.Internal;

/// <summary>
/// The loader on TPL Dataflow, a facade over parts with one job each: a <see cref="ChunkProducer{TSource}"/> per
/// source kind, the <see cref="BlockGraph{TSource, T}"/> whose workers run the <see cref="ChunkProcessor{TSource, T}"/>,
/// the <see cref="PrefetchReader"/>, the <see cref="EpochLedger"/> and the <see cref="LoaderLifetime"/> that owns
/// every task, the fault and <see cref="Completion"/>.
/// </summary>
internal sealed class DataflowLoader<TSource, T> : DataLoader, IMetricsSource
{
    private readonly SourceSpec _source;
    private readonly TransformChain<TSource, T> _chain;
    private readonly Collator<T> _collator;
    private readonly LoaderOptions _options;
    private readonly BatchSampler? _batchSampler;
    private readonly BatchPool _pool;
    private readonly LoaderLifetime _lifetime = new();
    private readonly EpochLedger _ledger;
    private readonly ErrorHandler _errors;
    private readonly InFlightWork _inFlight;
    private readonly TimeProvider _time;
    private readonly LoaderState _start;
    private readonly PipelineCounters _counters = new();
    private readonly Queue<Delivery> _ahead = new();
    private readonly Lock _startLock = new();
    private BlockGraph<TSource, T>? _graph;
    private AutotuneLoop? _autotune;
    private readonly AutotuneLimits _tuning;
    private PrefetchReader? _reader;
    private readonly EpochPosition _position;
    private LoaderState _state;
    private IReadOnlyList<string> _abandoned = [];
    private bool _leftEarly;
    private readonly SemaphoreSlim _readGate = new(1, 1);
    private CancellationToken _readerToken;
    private int _disposed;
    private readonly bool _regrouped;
    private readonly Demand? _demand;

    public DataflowLoader(SourceSpec source, TransformChain<TSource, T> chain, Collator<T> collator, LoaderOptions options, LoaderState? resumeFrom)
    {
        _source = source;
        _chain = chain;
        _collator = collator;
        _options = options;
        _time = options.TimeProvider;
        OptionsValidator.Validate(options, source, resumeFrom, packing: collator is PackingCollator<T>);
        _regrouped = options.Bucketing is not null || collator is PackingCollator<T>;
        var maxBatch = options.BatchSize;
        int batchesPerEpoch = -1, samplesPerEpoch = -1;
        if (source is MapSource<TSource> map)
        {
            _batchSampler = map.ResolveBatchSampler(options);
            maxBatch = _batchSampler.MaxBatchSize;
            batchesPerEpoch = _batchSampler.BatchesPerEpoch;
            samplesPerEpoch = map.Dataset.Count;
        }

        // Buckets and packed rows make batches of their own: as many samples as the largest bucket's batch, or rows.
        if (options.Bucketing is { } bucketing)
        {
            maxBatch = Math.Max(maxBatch, bucketing.MaxBatchSize(options.BatchSize));
        }
        else if (collator is PackingCollator<T>)
        {
            maxBatch = options.BatchSize;
        }

        var ordering = Ordering(source, options, _batchSampler, collator);
        if (resumeFrom is not null)
        {
            if (resumeFrom.Ordering is { } saved && saved != ordering)
            {
                throw new ArgumentException(
                    $"The state was saved by a loader that orders its batches differently, so resuming would skip or repeat samples. Saved: {saved}. This loader: {ordering}.",
                    nameof(resumeFrom));
            }

            if (resumeFrom.Seed != options.Seed || resumeFrom.BatchesPerEpoch != batchesPerEpoch || resumeFrom.SamplesPerEpoch != samplesPerEpoch
                || (resumeFrom.BatchSize != 0 && resumeFrom.BatchSize != maxBatch))
            {
                throw new ArgumentException(
                    $"The state (seed {resumeFrom.Seed}, {resumeFrom.BatchesPerEpoch} batches of {resumeFrom.SamplesPerEpoch} samples per epoch, batch size {resumeFrom.BatchSize}) was saved by a loader configured differently from this one (seed {options.Seed}, {batchesPerEpoch} batches of {samplesPerEpoch} samples, batch size {maxBatch}).",
                    nameof(resumeFrom));
            }

            // An iterable source has no epoch size (-1), and neither have regrouped batches: the position is bounded only below.
            var mapStyle = batchesPerEpoch >= 0 && !_regrouped;
            if (resumeFrom.Epoch < 0 || resumeFrom.NextBatch < 0 || (mapStyle && resumeFrom.NextBatch > batchesPerEpoch))
            {
                throw new ArgumentOutOfRangeException(nameof(resumeFrom), $"The state's position (epoch {resumeFrom.Epoch}, batch {resumeFrom.NextBatch}) is outside an epoch of {batchesPerEpoch} batches.");
            }

            if (resumeFrom.DeliveredAhead?.Any(b => b <= resumeFrom.NextBatch || (mapStyle && b >= batchesPerEpoch)) == true)
            {
                throw new ArgumentOutOfRangeException(nameof(resumeFrom), $"The state's batches delivered ahead ({string.Join(", ", resumeFrom.DeliveredAhead)}) are not between batch {resumeFrom.NextBatch} and the end of an epoch of {batchesPerEpoch} batches.");
            }
        }

        _start = (resumeFrom ?? new LoaderState(0, 0, options.Seed, batchesPerEpoch, samplesPerEpoch, BatchSize: maxBatch)) with { Ordering = ordering };
        _state = _start;
        _ledger = new EpochLedger(sourceWaits: !options.Ordered);
        _position = new EpochPosition(_start);
        _tuning = AutotuneLimits.From(options);
        _pool = new BatchPool(_tuning.Any ? _tuning.MaxPoolSize : options.EffectivePoolSize, maxBatch);
        _errors = new ErrorHandler(options, _counters.Accounting, _time, _lifetime.Token);
        _demand = options.Workers == 0 ? new Demand() : null;

        // Each of the (at most two) parallel blocks runs Workers chunks at once, the shuffle block one.
        _inFlight = new InFlightWork((2 * options.EffectiveWorkers) + 1, _time);
    }

    public override LoaderOptions Options => _options.Clone();

    public override int? BatchesPerEpoch => _regrouped ? null : _batchSampler?.BatchesPerEpoch;

    public override LoaderState State => Volatile.Read(ref _state);

    public override IReadOnlyList<DeadLetter> DeadLetters => _errors.DeadLetters;

    public override IReadOnlyList<EpochStatistics> Statistics
    {
        get
        {
            // A loader that stopped by itself (an error) has its books closed once its stages ended; disposal closes them too.
            if (_lifetime.Completion.IsCompleted && _lifetime.OwnedTasks() is { Count: > 0 } tasks && tasks.All(t => t.IsCompleted))
            {
                _counters.Accounting.SettleStopped();
            }

            return _counters.Accounting.Snapshot();
        }
    }

    public override IReadOnlyList<string> AbandonedWork => Volatile.Read(ref _abandoned);

    public override Task Completion => _lifetime.Completion;

    public string Name => _options.Name;

    public long PoolLeases => _pool.Outstanding;

    public long PoolCapacity => _pool.Limit;

    public override Telemetry.AutotuneStatus? Autotune => _autotune?.Status;

    public Telemetry.AutotuneStatus Tuning => _autotune?.Status
        ?? new(_graph?.Workers ?? _options.Workers, _options.Prefetch, _pool.Limit, _pool.AllocatedBytes, 0, 0, "fixed", "workers and prefetch set in LoaderOptions");

    public long PoolHeld => _pool.HeldByConsumer;

    public PipelineCounters Counters => _counters;

    internal BatchPool Pool => _pool;

    internal IReadOnlyList<Task> InternalTasks => _lifetime.OwnedTasks();

    public IEnumerable<(PipelineStage Stage, int Depth)> QueueDepths()
    {
        foreach (var (name, depth) in _graph?.Queues ?? [])
        {
            yield return (name, depth());
        }
    }

    public IEnumerable<StageShape> StageShapes() =>
        _graph is { } graph ? StageShape.Of(this, graph.Workers, graph.Capacity, _autotune?.Status.Prefetch ?? _options.Prefetch) : [];

    public override IAsyncEnumerable<Batch> ReadEpochAsync(CancellationToken cancellationToken = default) => ReadAsync(count: null, cancellationToken);

    public override IAsyncEnumerable<Batch> ReadBatchesAsync(int count, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return ReadAsync(count, cancellationToken);
    }

    /// <summary>
    /// The rest of the current epoch (<paramref name="count"/> null), or the next <paramref name="count"/> batches
    /// across epoch ends. An epoch read that stops early leaves the rest of its epoch unwanted; a batch read does not.
    /// </summary>
    private async IAsyncEnumerable<Batch> ReadAsync(int? count, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (!_readGate.Wait(0, CancellationToken.None))
        {
            // A canceled read (a disposed subscription, say) may still be unwinding: wait for it, not for a live one.
            if (!_readerToken.IsCancellationRequested)
            {
                throw new InvalidOperationException("Another read of this loader is in progress: a loader has one consumer at a time.");
            }

            await _readGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        _readerToken = cancellationToken;
        try
        {
            EnsureStarted();
            if (_leftEarly)
            {
                // The previous epoch read stopped early: the rest of its epoch is not wanted.
                while (await NextAsync(Volatile.Read(ref _state).Epoch, cancellationToken).ConfigureAwait(false) is { Kind: DeliveryKind.Batch } rest)
                {
                    _counters.Accounting.Add(rest.Epoch, Tally.Dropped, rest.Batch!.Count);
                    rest.Batch.Dispose();
                }

                _leftEarly = false;
            }

            _leftEarly = count is null;
            var counters = _counters;
            for (var delivered = 0; count is null || delivered < count;)
            {
                var waitStart = _time.GetTimestamp();
                var delivery = await NextAsync(Volatile.Read(ref _state).Epoch, cancellationToken).ConfigureAwait(false);
                var waitEnd = _time.GetTimestamp();
                Interlocked.Add(ref counters.WaitTicks, _time.GetElapsedTime(waitStart, waitEnd).Ticks);
                if (delivery.ReadyAt > waitStart)
                {
                    // The batch was finished while the consumer waited: from then on the wait was for a thread to run
                    // the consumer's continuation (the thread pool's queue, or a CPU), not for data.
                    Interlocked.Add(ref counters.DispatchTicks, _time.GetElapsedTime(delivery.ReadyAt, waitEnd).Ticks);
                }
                if (delivery.Kind == DeliveryKind.EpochEnd && count is not null)
                {
                    continue;
                }

                if (delivery.Kind != DeliveryKind.Batch)
                {
                    _leftEarly = false;
                    yield break;
                }

                var batch = Hand(delivery);
                delivered++;
                var stepStart = _time.GetTimestamp();
                yield return batch;
                Interlocked.Add(ref counters.StepTicks, _time.GetElapsedTime(stepStart).Ticks);
            }
        }
        finally
        {
            _readGate.Release();
        }
    }

    /// <summary>Hands a delivered batch to the consumer: its index, ingest lag, lease and counters.</summary>
    private Batch Hand(in Delivery delivery)
    {
        var batch = delivery.Batch!;
        batch.SetIndex(delivery.Sequence);
        if (delivery.ReadAt != 0)
        {
            LoaderMetrics.IngestLag.Record(_time.GetElapsedTime(delivery.ReadAt).TotalSeconds, new KeyValuePair<string, object?>(LoaderMetrics.PipelineTag, _options.Name));
        }

        if (!_options.Ordered)
        {
            // Batches overtake each other: no position is "after" one of them.
            batch.LastLine = null;
        }

        _pool.MarkHandedOut(batch);
        _counters.Accounting.Add(delivery.Epoch, Tally.Delivered, batch.Count);
        _counters.Accounting.Add(delivery.Epoch, Tally.NonFinite, batch.NonFiniteValues);
        Interlocked.Add(ref _counters.Samples, batch.Count);
        Interlocked.Increment(ref _counters.Batches);
        Interlocked.Add(ref _counters.Bytes, batch.ByteLength);
        Interlocked.Add(ref _counters.SequenceSteps, batch.SequenceSteps);
        Interlocked.Add(ref _counters.PaddingSteps, batch.PaddingSteps);
        return batch;
    }

    private protected override void Fault(Exception error)
    {
        // The consumer's own error: nothing will read the stream any more, so Completion faults with it now.
        _lifetime.Fail(error);
        _lifetime.Finish();
    }

    public override async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        BlockGraph<TSource, T>? graph;
        lock (_startLock)
        {
            // A read that starts from now on finds the loader disposed and builds nothing.
            graph = _graph;
        }

        var abandoned = await _lifetime.StopAsync(() => graph?.Drain(), _options.ShutdownTimeout, _time).ConfigureAwait(false);
        while (_ahead.TryDequeue(out var early))
        {
            early.Batch?.Dispose();
        }

        if (abandoned.Count == 0)
        {
            graph?.DiscardHeld();
            _pool.ReclaimAllUndelivered();
            _pool.Dispose();
            _demand?.Dispose();
            _counters.Accounting.SettleStopped();
        }
        else
        {
            // User code may still write into a buffer it holds: free the memory only once it has let go. This
            // continuation runs when that code returns; nothing waits for it.
            Volatile.Write(ref _abandoned, abandoned);
            var pool = _pool;
            var accounting = _counters.Accounting;
            _ = Task.WhenAll(_lifetime.OwnedTasks()).ContinueWith(
                _ =>
                {
                    graph?.Drain();
                    graph?.DiscardHeld();
                    pool.ReclaimAllUndelivered();
                    pool.Dispose();
                    accounting.SettleStopped();
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
        }

        LoaderMetrics.Unregister(this);
    }

    /// <summary>
    /// The next batch of <paramref name="epoch"/>, or its end (then the state moves to the next epoch), or the end
    /// of the source. Unordered batches of a later epoch that overtake this one wait aside until their epoch is read.
    /// </summary>
    private async ValueTask<Delivery> NextAsync(long epoch, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_ledger.IsReceived(epoch))
            {
                _position.NextEpoch();
                Volatile.Write(ref _state, _position.Apply(Volatile.Read(ref _state) with { Epoch = epoch + 1 }));
                return new Delivery(null, epoch, DeliveryKind.EpochEnd);
            }

            Delivery delivery;
            if (_ahead.Count > 0 && _ahead.Peek().Epoch == epoch)
            {
                delivery = _ahead.Dequeue();
            }
            else
            {
                _demand?.Request();
                delivery = await _reader!.ReceiveAsync(cancellationToken).ConfigureAwait(false);
                if (delivery.Kind == DeliveryKind.Completed)
                {
                    return delivery;
                }

                if (delivery.Kind is DeliveryKind.Batch or DeliveryKind.Empty)
                {
                    _demand?.Received();
                }

                if (delivery.Epoch != epoch && delivery.Kind != DeliveryKind.EpochEnd)
                {
                    _ahead.Enqueue(delivery);
                    continue;
                }
            }

            _ledger.RecordReceived(delivery);
            if (delivery.Kind is DeliveryKind.Batch or DeliveryKind.Empty)
            {
                // The consumer passes this chunk: its dead letters become public and the position moves past it.
                _errors.Publish(delivery.Epoch, delivery.DeadLetters);
                _position.Deliver(delivery.Sequence);
                Volatile.Write(ref _state, _position.Apply(Volatile.Read(ref _state)));
                if (delivery.Kind == DeliveryKind.Batch)
                {
                    return delivery;
                }
            }
        }
    }

    private void EnsureStarted()
    {
        lock (_startLock)
        {
            if (_graph is not null)
            {
                return;
            }

            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            var ledger = _options.Ordered ? null : _ledger;
            var processor = new ChunkProcessor<TSource, T>(_source, _chain, _collator, _pool, _options, _counters, _errors, _lifetime, ledger, _inFlight);
            var firstStage = _source is MapSource<TSource> ? PipelineStage.Read : _chain.IsIdentity ? PipelineStage.Collate : PipelineStage.Transform;
            var regroup = Regroupers(out var regroupStage);
            var disposes = ChunkProcessor<TSource, T>.DisposesSamples(_chain);
            for (var stage = regroup; stage is not null; stage = stage.Next)
            {
                stage.DisposesSamples = disposes;
            }

            var graph = new BlockGraph<TSource, T>(processor, _options, _pool, firstStage, _counters, _lifetime, regroup, regroupStage, disposes);
            _counters.ReadyBatches = () => graph.Prefetch.Count;
            var reserveAtSource = regroup is null ? _pool : null;

            // Regrouped batches depend on the whole epoch so far: a resumed source reads its epoch from the start and the
            // last regrouper passes over the batches the state says were delivered (Regrouper).
            var sourceStart = regroup is not null ? _start with { NextBatch = 0, DeliveredAhead = null } : _start;
            ChunkProducer<TSource> producer = _source is MapSource<TSource> map
                ? new MapChunkProducer<TSource>(map.Dataset.Count, _batchSampler!, sourceStart, _options.Seed, ledger, _counters, _time, _lifetime, reserveAtSource)
                : new IterableChunkProducer<TSource>((IterableSource<TSource>)_source, _options.BatchSize, _options.DropLast, _options.BatchTimeout, sourceStart, ledger, _counters, _time, _lifetime, reserveAtSource);
            producer.AgreeLayout = processor.AgreeLayoutAsync;
            producer.Demand = _demand;
            // Every block, not only the last: a stop waits for the workers before the samples they hold are disposed.
            _lifetime.Own(Task.WhenAll(graph.Ended, graph.AllEnded), () => _inFlight.Describe().DefaultIfEmpty("the pipeline's blocks"));
            if (_tuning.Any)
            {
                // Sets the gates and the pool to the starting values before the source reserves its first buffer.
                var autotune = new AutotuneLoop(new Autotuner(_tuning, AutotuneSettings.Default, _time), graph.Gates, _pool, _counters, _time, AutotuneSettings.Default.Tick);
                _lifetime.Run(() => autotune.RunAsync(_lifetime.Token), () => ["the autotuner"]);
                _autotune = autotune;
            }

            _lifetime.Run(() => producer.ProduceAsync(graph.Head, _lifetime.SourceToken), () => [producer.Describe()]);
            _reader = new PrefetchReader(graph.Prefetch, _pool, _lifetime, _options.StallTimeout, _time, () => _inFlight.Describe().Append(producer.Describe()));
            _graph = graph;
            LoaderMetrics.Register(this);
        }
    }

    /// <summary>The chain of regroupers the options ask for (shuffle buffer, then buckets or packing), or null for none.</summary>
    private Regrouper<T>? Regroupers(out PipelineStage stage)
    {
        var chain = new List<Regrouper<T>>();
        if (_options.ShuffleBufferSize > 0)
        {
            chain.Add(new ShuffleBuffer<T>(_options.ShuffleBufferSize, _options.BatchSize, _options.Seed, _start, _counters.Accounting));
        }

        if (_options.Bucketing is { } bucketing)
        {
            chain.Add(new LengthBucketer<T>(bucketing, _collator, _pool, _options, _errors, _start, _counters.Accounting));
        }

        if (_collator is PackingCollator<T> packing)
        {
            chain.Add(new SequencePacker<T>(packing, _options, _start, _counters.Accounting));
        }

        for (var i = 1; i < chain.Count; i++)
        {
            chain[i - 1].Next = chain[i];
        }

        stage = _regrouped ? PipelineStage.Group : PipelineStage.Shuffle;
        return chain.Count > 0 ? chain[0] : null;
    }

    /// <summary>What decides the order of the batches (<see cref="LoaderState.Ordering"/>).</summary>
    private static string Ordering(SourceSpec source, LoaderOptions options, BatchSampler? batchSampler, Collator<T> collator)
    {
        var parts = new List<string>
        {
            batchSampler is not null
                ? $"dataset, {batchSampler.Describe()}"
                : $"stream, batches of {options.BatchSize}{(options.DropLast ? ", drop last" : "")}",
        };
        if (options.ShuffleBufferSize > 0)
        {
            parts.Add($"shuffle buffer {options.ShuffleBufferSize}");
        }

        if (options.Bucketing is { } b)
        {
            parts.Add($"buckets [{string.Join(", ", b.Boundaries)}] of [{string.Join(", ", b.BatchSizes ?? [])}], max tokens {b.MaxTokens}, field {b.Field ?? "first"}");
        }

        if (collator is PackingCollator<T> packing)
        {
            parts.Add($"packed rows of {packing.Packing.Length}");
        }

        return string.Join("; ", parts);
    }
}
