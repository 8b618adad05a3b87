namespace StreamingLoader.Internal;

/// <summary>
/// The parts of one loader that its source, workers and blocks share: the options, the batch pool, the counters, the
/// error handler, the lifetime (cancellation, the first fault, owned tasks), the epoch ledger, the work in flight and
/// the clock. <see cref="DataflowLoader{TSource, T}"/> makes one and hands it to each part it builds.
/// </summary>
internal sealed class LoaderContext
{
    public LoaderContext(LoaderOptions options, BatchPool pool, PipelineCounters counters, ErrorHandler errors, LoaderLifetime lifetime, EpochLedger ledger, InFlightWork inFlight, Demand? demand)
    {
        Options = options;
        Pool = pool;
        Counters = counters;
        Errors = errors;
        Lifetime = lifetime;
        Ledger = ledger;
        InFlight = inFlight;
        Demand = demand;
    }

    /// <summary>Gets the loader's own copy of its options.</summary>
    public LoaderOptions Options { get; }

    public BatchPool Pool { get; }

    public PipelineCounters Counters { get; }

    public ErrorHandler Errors { get; }

    public LoaderLifetime Lifetime { get; }

    /// <summary>Gets the count of each epoch's chunks: made by the stages, received by the consumer.</summary>
    public EpochLedger Ledger { get; }

    /// <summary>
    /// Gets the ledger when the source waits for the stages at an epoch's end and the stages record what they made in it
    /// (unordered delivery, where a later epoch's batches could otherwise overtake); null when delivery is ordered.
    /// </summary>
    public EpochLedger? SourceLedger => Options.Ordered ? null : Ledger;

    /// <summary>Gets which sample each worker is in user code for.</summary>
    public InFlightWork InFlight { get; }

    /// <summary>Gets the consumer's requests when nothing is read ahead (<see cref="LoaderOptions.Workers"/> = 0); null to read ahead.</summary>
    public Demand? Demand { get; }

    /// <summary>Gets the clock (<see cref="LoaderOptions.TimeProvider"/>).</summary>
    public TimeProvider Time => Options.TimeProvider;

    /// <summary>Starts timing <paramref name="items"/> samples in <paramref name="stage"/>.</summary>
    public StageTimer StartStage(PipelineStage stage, int items) => StageTimer.Start(Options.Name, stage, Counters.Stage(stage), items);
}
