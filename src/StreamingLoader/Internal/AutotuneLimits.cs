namespace StreamingLoader.Internal;

/// <summary>
/// What the autotuner may set: which knobs it turns, their bounds and the memory budget. The pool holds
/// <c>prefetch + 2 × workers + 2</c> buffers (as <see cref="LoaderOptions.EffectivePoolSize"/> derives it), or the
/// fixed <see cref="LoaderOptions.PoolSize"/>, and the buffers must fit in <see cref="MemoryBudget"/> bytes.
/// </summary>
internal sealed record AutotuneLimits(bool TuneWorkers, bool TunePrefetch, int Workers, int Prefetch, int FixedPoolSize, long MemoryBudget, int MaxWorkers, int MaxPrefetch)
{
    /// <summary>The workers a tuned loader starts with: few, so that the first measurements say whether more help.</summary>
    public const int StartWorkers = 2;

    /// <summary>The prefetch a tuned loader starts with.</summary>
    public const int StartPrefetch = 2;

    /// <summary>Gets the most workers a tuned loader builds its blocks for: 64, or 4 per core on larger machines.</summary>
    public static int DefaultMaxWorkers { get; } = Math.Max(64, 4 * Environment.ProcessorCount);

    /// <summary>The most prefetched batches a tuned loader keeps.</summary>
    public const int DefaultMaxPrefetch = 32;

    /// <summary>The limits a loader's options give.</summary>
    public static AutotuneLimits From(LoaderOptions options)
    {
        var tuneWorkers = options.Workers == LoaderOptions.Auto;
        var tunePrefetch = options.Prefetch == LoaderOptions.Auto;
        var maxWorkers = options.EffectiveWorkers;
        var maxPrefetch = tunePrefetch ? DefaultMaxPrefetch : options.Prefetch;
        return new AutotuneLimits(
            tuneWorkers,
            tunePrefetch,
            tuneWorkers ? Math.Min(StartWorkers, maxWorkers) : maxWorkers,
            tunePrefetch ? StartPrefetch : options.Prefetch,
            options.PoolSize,
            options.ResolvedMemoryBudget,
            maxWorkers,
            maxPrefetch);
    }

    /// <summary>Gets whether anything is tuned.</summary>
    public bool Any => TuneWorkers || TunePrefetch;

    /// <summary>Gets the most buffers the pool may ever hold: what its semaphore is built with.</summary>
    public int MaxPoolSize => FixedPoolSize != LoaderOptions.Auto ? FixedPoolSize : PoolSize(MaxWorkers, MaxPrefetch);

    /// <summary>The buffers the pool holds with <paramref name="workers"/> and <paramref name="prefetch"/>.</summary>
    public int PoolSize(int workers, int prefetch) => FixedPoolSize != LoaderOptions.Auto ? FixedPoolSize : prefetch + (2 * workers) + 2;

    /// <summary>The most buffers of <paramref name="bufferBytes"/> bytes the budget holds (unbounded before the size is known).</summary>
    public int BuffersInBudget(long bufferBytes) => bufferBytes <= 0 ? int.MaxValue : (int)Math.Min(int.MaxValue, MemoryBudget / bufferBytes);
}
