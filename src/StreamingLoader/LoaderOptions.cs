namespace StreamingLoader;

/// <summary>
/// How a loader batches, parallelizes, shuffles and buffers (the arguments of PyTorch's <c>DataLoader</c>).
/// The loader copies the options when it is built, so later changes do not affect it.
/// </summary>
/// <remarks>
/// Defaults: <see cref="BatchSize"/> 1, <see cref="Shuffle"/> false, <see cref="DropLast"/> false,
/// <see cref="Workers"/> = processor count, <see cref="Ordered"/> true, <see cref="Prefetch"/> 4 batches,
/// <see cref="PoolSize"/> derived (prefetch + 2 × workers + 2), <see cref="MemoryBudget"/> a quarter of the memory
/// available to the process (used when <see cref="Workers"/> or <see cref="Prefetch"/> is <see cref="Auto"/>), <see cref="Seed"/> 0,
/// <see cref="ShuffleBufferSize"/> 0 (off), <see cref="ErrorPolicy"/> Fail in every stage, no <see cref="Retry"/>, <see cref="Name"/> "default",
/// <see cref="TimeProvider"/> the system clock.
/// </remarks>
public sealed class LoaderOptions
{
    /// <summary>
    /// A value meaning "let the loader decide" where a property allows it: <see cref="Workers"/> and <see cref="Prefetch"/>
    /// are then tuned while the loader runs, <see cref="PoolSize"/> derived from them, <see cref="MemoryBudget"/> a share
    /// of the machine's memory.
    /// </summary>
    public const int Auto = -1;

    /// <summary>The share of the memory available to the process that <see cref="MemoryBudget"/> defaults to.</summary>
    public const double DefaultMemoryShare = 0.25;

    private int _batchSize = 1;
    private int _workers = Environment.ProcessorCount;
    private int _prefetch = 4;
    private int _poolSize = Auto;
    private long _memoryBudget = Auto;
    private TimeSpan _shutdownTimeout = TimeSpan.FromSeconds(1);
    private TimeSpan _batchTimeout = Timeout.InfiniteTimeSpan;
    private TimeSpan _stallTimeout = Timeout.InfiniteTimeSpan;
    private int _shuffleBufferSize;
    private string _name = "default";
    private TimeProvider _timeProvider = TimeProvider.System;

    /// <summary>Gets or sets the samples per batch (PyTorch's <c>batch_size</c>). At least 1.</summary>
    public int BatchSize
    {
        get => _batchSize;
        set
        {
            _batchSize = AtLeast(1, value, nameof(BatchSize), "samples per batch, PyTorch's batch_size");
        }
    }

    /// <summary>Gets or sets whether a map-style dataset is read in a new random order each epoch (PyTorch's <c>shuffle</c>).</summary>
    public bool Shuffle { get; set; }

    /// <summary>Gets or sets whether a last, smaller batch is dropped (PyTorch's <c>drop_last</c>).</summary>
    public bool DropLast { get; set; }

    /// <summary>
    /// Gets or sets how many threads read, transform and collate in parallel (PyTorch's <c>num_workers</c>,
    /// but threads in this process: no fork, no pickling). 0 is PyTorch's <c>num_workers=0</c>: nothing is read ahead,
    /// each batch is read, transformed and collated only when the consumer asks for it (one sample after another, on a
    /// pool thread while the consumer waits) — for debugging, and for sources that must not be read ahead.
    /// Or <see cref="Auto"/>.
    /// </summary>
    /// <remarks>
    /// <see cref="Auto"/> starts with 2 workers and adjusts them while the loader runs (tf.data's <c>AUTOTUNE</c>): from
    /// the measured time the workers are busy and the time the consumer waits for batches, more workers while they
    /// are busy and the consumer starves and they bring more samples/s, fewer when the consumer is the bottleneck;
    /// at most 64 (or 4 per core), within <see cref="MemoryBudget"/>. The order of batches does not depend on the
    /// number of workers. <see cref="DataLoader.Autotune"/> and the <c>streamingloader.autotune.*</c> metrics show each decision.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative and not <see cref="Auto"/>.</exception>
    public int Workers
    {
        get => _workers;
        set => _workers = value >= 0 || value == Auto
            ? value
            : throw new ArgumentOutOfRangeException(nameof(Workers), value, $"Workers must be 0 (load each batch when the consumer asks, as PyTorch's num_workers=0), 1 or more, or LoaderOptions.Auto (tuned while the loader runs); it was {value}.");
    }

    /// <summary>
    /// Gets or sets whether batches keep the sampler's order whatever the thread timing (true), or come as soon
    /// as they are ready (false: more throughput with uneven transforms, order not reproducible; an epoch is then
    /// finished before the next one starts, and each epoch still holds every batch once).
    /// </summary>
    public bool Ordered { get; set; } = true;

    /// <summary>
    /// Gets or sets how many finished batches wait ahead of the consumer. At least 1, or <see cref="Auto"/>: starts at 2
    /// and doubles while the consumer starves though the workers are idle and more brings more samples/s (at most 32,
    /// within <see cref="MemoryBudget"/>).
    /// </summary>
    public int Prefetch
    {
        get => _prefetch;
        set
        {
            _prefetch = value == Auto ? value : AtLeast(1, value, nameof(Prefetch), "finished batches waiting ahead of the consumer, or LoaderOptions.Auto");
        }
    }

    /// <summary>
    /// Gets or sets the bytes the batch buffers may take when <see cref="Workers"/> or <see cref="Prefetch"/> is
    /// <see cref="Auto"/>: the autotuner keeps the pool's buffers × the bytes of the largest buffer so far (batches
    /// with variable-length fields grow their buffers) within it, and frees buffers when they grow past it.
    /// <see cref="Auto"/> (the default) is <see cref="DefaultMemoryShare"/> of the memory available to the process
    /// (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>, which honours a container's limit).
    /// </summary>
    public long MemoryBudget
    {
        get => _memoryBudget;
        set => _memoryBudget = value > 0 || value == Auto
            ? value
            : throw new ArgumentOutOfRangeException(nameof(MemoryBudget), value, $"MemoryBudget (bytes the batch buffers may take while tuned) must be positive, or LoaderOptions.Auto for {DefaultMemoryShare:P0} of the available memory; it was {value}.");
    }

    /// <summary>
    /// Gets or sets how many batch buffers exist at most, which bounds memory at PoolSize × batch bytes.
    /// <see cref="Auto"/> (the default) derives it as <see cref="Prefetch"/> + 2 × <see cref="Workers"/> + 2.
    /// </summary>
    public int PoolSize
    {
        get => _poolSize;
        set
        {
            _poolSize = value == Auto ? value : AtLeast(1, value, nameof(PoolSize), "batch buffers, or LoaderOptions.Auto to derive it");
        }
    }

    /// <summary>
    /// Gets or sets the seed of every random decision: sampler order, shuffle buffer and the per-sample
    /// <see cref="SampleContext.Random"/>. The same seed gives the same batches whatever the worker count.
    /// </summary>
    public ulong Seed { get; set; }

    /// <summary>
    /// Gets or sets the size of the shuffle buffer for iterable sources (tf.data's <c>shuffle(buffer_size)</c>);
    /// 0 keeps the source's order. Map-style datasets shuffle through <see cref="Shuffle"/> or a sampler instead.
    /// </summary>
    public int ShuffleBufferSize
    {
        get => _shuffleBufferSize;
        set
        {
            _shuffleBufferSize = AtLeast(0, value, nameof(ShuffleBufferSize), "samples in the shuffle buffer, 0 for none");
        }
    }

    /// <summary>
    /// Gets or sets length bucketing: samples of similar length share a batch (tf.data's
    /// <c>bucket_by_sequence_length</c>, with an optional token budget); null (the default) batches in arrival order.
    /// Needs a collator with a variable-length field. The number of batches per epoch is then known only at its end.
    /// </summary>
    public LengthBucketing? Bucketing { get; set; }

    /// <summary>
    /// Gets or sets what happens to a sample whose read, transform or collation throws, in every stage that
    /// <see cref="StageErrorPolicies"/> does not name.
    /// </summary>
    public ErrorPolicy ErrorPolicy { get; set; } = ErrorPolicy.Fail;

    /// <summary>
    /// Gets the error policy of single stages, overriding <see cref="ErrorPolicy"/> for them: keys are
    /// <see cref="PipelineStage.Read"/>, <see cref="PipelineStage.Transform"/> and <see cref="PipelineStage.Collate"/>
    /// (the stages where one sample can fail without the others). For example, skip samples whose files are
    /// unreadable but fail on a transform bug: <c>ErrorPolicy = Fail, StageErrorPolicies = { [PipelineStage.Read] = Skip }</c>.
    /// </summary>
    public IDictionary<PipelineStage, ErrorPolicy> StageErrorPolicies { get; private set; } = new Dictionary<PipelineStage, ErrorPolicy>();

    /// <summary>
    /// Gets or sets the retries of a sample's read or transform after a transient error, before the stage's error
    /// policy decides; null (the default) retries nothing.
    /// </summary>
    public RetryPolicy? Retry { get; set; }

    /// <summary>Gets or sets the pipeline's name: the <c>pipeline</c> tag on its metrics.</summary>
    public string Name
    {
        get => _name;
        set
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value, nameof(Name));
            _name = value;
        }
    }

    /// <summary>
    /// Gets or sets the clock the loader measures and waits with: its metrics, and every timeout
    /// (<see cref="StallTimeout"/>, <see cref="BatchTimeout"/>, <see cref="ShutdownTimeout"/>), so a test's fake clock
    /// decides when each one expires.
    /// </summary>
    public TimeProvider TimeProvider
    {
        get => _timeProvider;
        set
        {
            ArgumentNullException.ThrowIfNull(value, nameof(TimeProvider));
            _timeProvider = value;
        }
    }

    /// <summary>
    /// Gets or sets how long a read waits for the next batch before the loader fails with a
    /// <see cref="DataLoaderException"/> that names what is stuck: each worker's stage and sample, and the source's
    /// position (PyTorch's <c>timeout</c>). For finite sources; a live source that is merely quiet would trip it.
    /// <see cref="Timeout.InfiniteTimeSpan"/> (the default) waits as long as it takes.
    /// </summary>
    public TimeSpan StallTimeout
    {
        get => _stallTimeout;
        set => _stallTimeout = PositiveOrInfinite(value, nameof(StallTimeout));
    }

    /// <summary>
    /// Gets or sets how long a partial batch of an iterable source waits for more items before it is delivered as it
    /// is: for live sources that go quiet (a tailed file, a queue), so that what arrived is trained on. Map-style
    /// datasets ignore it. <see cref="Timeout.InfiniteTimeSpan"/> (the default) waits for a full batch.
    /// </summary>
    public TimeSpan BatchTimeout
    {
        get => _batchTimeout;
        set => _batchTimeout = PositiveOrInfinite(value, nameof(BatchTimeout));
    }

    /// <summary>
    /// Gets or sets how long disposing the loader waits for user code still running (a dataset read, a transform, a
    /// source's next item) after everything was canceled. Past it the loader abandons that work, frees what it can
    /// and lists it in <see cref="DataLoader.AbandonedWork"/>, so a stuck function cannot hold the loader hostage.
    /// </summary>
    /// <remarks>The default is 1 second.</remarks>
    public TimeSpan ShutdownTimeout
    {
        get => _shutdownTimeout;
        set
        {
            _shutdownTimeout = value >= TimeSpan.Zero
                ? value
                : throw new ArgumentOutOfRangeException(nameof(ShutdownTimeout), value, $"ShutdownTimeout must be zero or more; it was {value}.");
        }
    }

    /// <summary>
    /// Gets the number of batch buffers the loader will have: <see cref="PoolSize"/>, or when that is
    /// <see cref="Auto"/>, <see cref="Prefetch"/> + 2 × <see cref="Workers"/> + 2. Memory is bounded by this many batches.
    /// With <see cref="Auto"/> workers or prefetch, the number the loader starts with (2 for each): the autotuner
    /// changes it as it changes them.
    /// </summary>
    public int EffectivePoolSize => _poolSize != Auto
        ? _poolSize
        : (_prefetch == Auto ? Internal.AutotuneLimits.StartPrefetch : _prefetch) + (2 * (_workers == Auto ? Internal.AutotuneLimits.StartWorkers : EffectiveWorkers)) + 2;

    /// <summary>Gets <see cref="MemoryBudget"/>, with <see cref="Auto"/> resolved to its share of the available memory.</summary>
    internal long ResolvedMemoryBudget => _memoryBudget != Auto ? _memoryBudget : (long)(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * DefaultMemoryShare);

    /// <summary>
    /// Gets the most threads that work: <see cref="Workers"/>, 1 when it is 0 (then on demand only), or with
    /// <see cref="Auto"/> the most the autotuner may set.
    /// </summary>
    internal int EffectiveWorkers => _workers == Auto ? Internal.AutotuneLimits.DefaultMaxWorkers : Math.Max(1, _workers);

    private static TimeSpan PositiveOrInfinite(TimeSpan value, string name) =>
        value == Timeout.InfiniteTimeSpan || value > TimeSpan.Zero
            ? value
            : throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive, or Timeout.InfiniteTimeSpan for none; it was {value}.");

    private static int AtLeast(int minimum, int value, string name, string what) =>
        value >= minimum
            ? value
            : throw new ArgumentOutOfRangeException(name, value, $"{name} ({what}) must be at least {minimum}; it was {value}.");

    /// <summary>The error policy of <paramref name="stage"/>: its entry in <see cref="StageErrorPolicies"/>, or <see cref="ErrorPolicy"/>.</summary>
    internal ErrorPolicy PolicyFor(PipelineStage stage) => StageErrorPolicies.TryGetValue(stage, out var policy) ? policy : ErrorPolicy;

    internal LoaderOptions Clone()
    {
        var clone = (LoaderOptions)MemberwiseClone();
        clone.StageErrorPolicies = new Dictionary<PipelineStage, ErrorPolicy>(StageErrorPolicies);
        clone.Bucketing = Bucketing?.Clone();
        return clone;
    }
}
