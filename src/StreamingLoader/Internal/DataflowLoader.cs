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
    private readonly LoaderContext _context;
    private readonly TimeProvider _time;
    private readonly LoaderState _start;
    private readonly PipelineCounters _counters = new();
    private readonly Lock _startLock = new();
    private BlockGraph<TSource, T>? _graph;
    private readonly ConsumerCursor _cursor;
    private AutotuneLoop? _autotune;
    private readonly AutotuneLimits _tuning;
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

        var ordering = LoaderOrdering.Describe(options, _batchSampler, collator);
        if (resumeFrom is not null)
        {
            OptionsValidator.ValidateResume(resumeFrom, options, ordering, batchesPerEpoch, samplesPerEpoch, maxBatch, mapStyle: batchesPerEpoch >= 0 && !_regrouped);
        }

        _start = (resumeFrom ?? new LoaderState(0, 0, options.Seed, batchesPerEpoch, samplesPerEpoch, BatchSize: maxBatch)) with { Ordering = ordering };
        _ledger = new EpochLedger(sourceWaits: !options.Ordered);
        _tuning = AutotuneLimits.From(options);
        _pool = new BatchPool(_tuning.Any ? _tuning.MaxPoolSize : options.EffectivePoolSize, maxBatch);
        _errors = new ErrorHandler(options, _counters.Accounting, _time, _lifetime.Token);
        _demand = options.Workers == 0 ? new Demand() : null;

        // Each of the (at most two) parallel blocks runs Workers chunks at once, the shuffle block one.
        _inFlight = new InFlightWork((2 * options.EffectiveWorkers) + 1, _time);
        _context = new LoaderContext(options, _pool, _counters, _errors, _lifetime, _ledger, _inFlight, _demand);
        _cursor = new ConsumerCursor(_start, _context);
    }

    public override LoaderOptions Options => _options.Clone();

    public override int? BatchesPerEpoch => _regrouped ? null : _batchSampler?.BatchesPerEpoch;

    public override LoaderState State => _cursor.State;

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
                while (await _cursor.NextAsync(cancellationToken).ConfigureAwait(false) is { Kind: DeliveryKind.Batch } rest)
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
                var delivery = await _cursor.NextAsync(cancellationToken).ConfigureAwait(false);
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

                var batch = _cursor.Hand(delivery);
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
        _cursor.DisposeAhead();

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

    private void EnsureStarted()
    {
        lock (_startLock)
        {
            if (_graph is not null)
            {
                return;
            }

            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            var (graph, producer) = PipelineAssembly.Build(_source, _chain, _collator, _batchSampler, _start, _context);
            _counters.ReadyBatches = () => graph.Prefetch.Count;
            // Every block (Ended waits for all): a stop waits for the workers before the samples they hold are disposed.
            _lifetime.Own(graph.Ended, () => _inFlight.Describe().DefaultIfEmpty("the pipeline's blocks"));
            if (_tuning.Any)
            {
                // Sets the gates and the pool to the starting values before the source reserves its first buffer.
                var autotune = new AutotuneLoop(new Autotuner(_tuning, AutotuneSettings.Default, _time), graph.Gates, _pool, _counters, _time, AutotuneSettings.Default.Tick);
                _lifetime.Run(() => autotune.RunAsync(_lifetime.Token), () => ["the autotuner"]);
                _autotune = autotune;
            }

            _lifetime.Run(() => producer.ProduceAsync(graph.Head, _lifetime.SourceToken), () => [producer.Describe()]);
            _cursor.Start(new PrefetchReader(graph.Prefetch, _pool, _lifetime, _options.StallTimeout, _time, () => _inFlight.Describe().Append(producer.Describe())));
            _graph = graph;
            LoaderMetrics.Register(this);
        }
    }
}
