using System.Reactive.Linq;
using System.Runtime.CompilerServices;

namespace StreamingLoader;

/// <summary>
/// A running pipeline that turns a source into batches, epoch after epoch, with backpressure from the consumer
/// back to the source. Read it as an async stream (<see cref="ReadEpochAsync"/>), push it to an observer
/// (<see cref="AsObservable"/>) or hand it a handler (<see cref="ForEachAsync"/>). Build one with <see cref="Pipeline"/>.
/// </summary>
/// <remarks>
/// The pipeline starts at the first read and persists across epochs: while the consumer finishes an epoch, the
/// next one is already being read. A loader has one consumer at a time. Canceling a read's token ends that read,
/// as <c>ChannelReader.ReadAsync</c> does, and the next read starts the following epoch; disposing the loader stops
/// it: every stage ends, every buffer goes back to the pool and <see cref="Completion"/> becomes canceled.
/// </remarks>
public abstract class DataLoader : IAsyncDisposable, IDisposable
{
    private protected DataLoader()
    {
    }

    /// <summary>Gets a copy of the options the loader was built with.</summary>
    public abstract LoaderOptions Options { get; }

    /// <summary>
    /// Gets what the autotuner has set now and why, when <see cref="LoaderOptions.Workers"/> or
    /// <see cref="LoaderOptions.Prefetch"/> is <see cref="LoaderOptions.Auto"/> and the loader has started; null otherwise.
    /// </summary>
    public abstract Telemetry.AutotuneStatus? Autotune { get; }

    /// <summary>Gets the number of batches in a whole epoch, or null for an iterable source.</summary>
    public abstract int? BatchesPerEpoch { get; }

    /// <summary>
    /// Gets the position after the last batch delivered: pass it to <c>Build</c> to resume there (map-style datasets).
    /// </summary>
    public abstract LoaderState State { get; }

    /// <summary>Gets the samples dropped under <see cref="ErrorPolicy.Skip"/>, with their reasons.</summary>
    public abstract IReadOnlyList<DeadLetter> DeadLetters { get; }

    /// <summary>
    /// Gets the user code that disposal stopped waiting for after <see cref="LoaderOptions.ShutdownTimeout"/> (a read,
    /// transform or source that ignored cancellation), one description each naming the stage and sample or position;
    /// empty when everything ended in time.
    /// </summary>
    public abstract IReadOnlyList<string> AbandonedWork { get; }

    /// <summary>
    /// Gets where the samples of each epoch begun went (read, delivered, skipped, failed, dropped, retried), so
    /// that every sample is accounted for; the same totals are the <c>streamingloader.samples.*</c> metrics.
    /// </summary>
    public abstract IReadOnlyList<EpochStatistics> Statistics { get; }

    /// <summary>
    /// Gets a task that completes when the source is exhausted and every batch was read, faults with the first
    /// error (a <see cref="DataLoaderException"/> naming the sample), or is canceled.
    /// </summary>
    public abstract Task Completion { get; }

    /// <summary>
    /// Reads the next epoch's batches. Dispose each batch. Leaving an epoch early is allowed: the next call skips
    /// the rest of it and starts the following epoch, as a new <c>iter(loader)</c> does in PyTorch.
    /// </summary>
    public abstract IAsyncEnumerable<Batch> ReadEpochAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads the next <paramref name="count"/> batches, across epoch ends; the next read continues where this one
    /// stopped. For live sources, whose epoch never ends, these are the "epochs" of N batches between logs and
    /// checkpoints.
    /// </summary>
    public abstract IAsyncEnumerable<Batch> ReadBatchesAsync(int count, CancellationToken cancellationToken = default);

    /// <summary>
    /// Calls <paramref name="onBatch"/> for every batch of <paramref name="epochs"/> epochs, awaiting each call before
    /// the next batch, and disposes each batch after its call completes.
    /// </summary>
    public async Task ForEachAsync(Func<Batch, CancellationToken, ValueTask> onBatch, int epochs = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(onBatch);
        ArgumentOutOfRangeException.ThrowIfNegative(epochs);
        await foreach (var batch in ReadEpochs(epochs, cancellationToken).ConfigureAwait(false))
        {
            using (batch)
            {
                await onBatch(batch, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The batches of <paramref name="epochs"/> epochs as an observable that keeps backpressure: the next batch is
    /// pushed only after <c>OnNext</c> returns, and each batch is disposed when it does (copy what you keep).
    /// The loader's errors arrive through <c>OnError</c>; disposing the subscription ends the read, not the loader.
    /// </summary>
    /// <remarks>
    /// An exception thrown by <c>OnNext</c> is the observer's own failure, which Rx's contract does not send back to
    /// the observer (no <c>OnError</c>, no <c>OnCompleted</c>): the loader stops and <see cref="Completion"/> faults
    /// with that exception, so await <see cref="Completion"/> to see it.
    /// <c>ObserveOn</c> to another scheduler queues batches without bound and ends the backpressure (and the lease
    /// outlives <c>OnNext</c>): use <see cref="ForEachAsync"/> for asynchronous consumers instead.
    /// </remarks>
    public IObservable<Batch> AsObservable(int epochs = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epochs);
        return Observable.Create<Batch>(async (observer, cancellationToken) =>
        {
            // Leave Subscribe first: Rx can only dispose (and so cancel) a subscription once Subscribe has returned.
            await Task.Yield();
            await foreach (var batch in ReadEpochs(epochs, cancellationToken).ConfigureAwait(false))
            {
                using (batch)
                {
                    try
                    {
                        observer.OnNext(batch);
                    }
#pragma warning disable CA1031 // Not swallowed: it faults the loader, which is where Rx leaves it to surface.
                    catch (Exception ex)
#pragma warning restore CA1031
                    {
                        Fault(ex);
                        return;
                    }
                }
            }

            observer.OnCompleted();
        });
    }

    /// <summary>Stops the loader with <paramref name="error"/>, the consumer's own: <see cref="Completion"/> faults with it.</summary>
    private protected abstract void Fault(Exception error);

    private async IAsyncEnumerable<Batch> ReadEpochs(int epochs, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            await foreach (var batch in ReadEpochAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return batch;
            }
        }
    }

    /// <summary>Stops the pipeline and frees its buffers once the consumer has disposed the batches it holds.</summary>
    public abstract ValueTask DisposeAsync();

    /// <summary>Stops the pipeline; see <see cref="DisposeAsync"/>.</summary>
    public void Dispose()
    {
        DisposeAsync().AsTask().GetAwaiter().GetResult();
        GC.SuppressFinalize(this);
    }
}
