using System.Diagnostics;
using System.Runtime.InteropServices;
using StreamingLoader.Torch.Interop;
using StreamingLoader.CpuTraining;

namespace StreamingLoader.Torch;

/// <summary>
/// Trains a <see cref="TorchModel"/> on a loader's batches in libtorch: the seeds' <c>for x, y in dataloader:</c> loop
/// with <c>optimizer.zero_grad(); loss.backward(); optimizer.step()</c>, on the CPU or a CUDA device.
/// </summary>
/// <remarks>
/// <para>
/// Batches are never copied on the host: each batch's pinned buffers are wrapped as tensors in place
/// (<c>torch::from_blob</c>). On a CUDA device the buffers are page-locked once per pooled buffer and copied to the
/// device asynchronously on a side stream, <see cref="TorchTrainerOptions.PrefetchDepth"/> batches ahead of the step
/// that uses them; the step waits for its batch's copy on the device (an event), not on the host, and a batch goes
/// back to the loader's pool only once its copy has completed. On the CPU the same path runs without copies: the
/// step reads the batch memory itself, and the batch goes back once its step has run.
/// </para>
/// <para>Three ways to feed it, all with the same prefetch and ownership rules:</para>
/// <list type="bullet">
/// <item><see cref="TrainEpochAsync"/> / <see cref="EvaluateAsync"/> read an epoch with <see cref="DataLoader.ReadEpochAsync"/>
/// and hold batches while their copies run.</item>
/// <item><see cref="OnBatchAsync"/> is a handler for <see cref="DataLoader.ForEachAsync"/> (the loader disposes each
/// batch when the handler returns, so the handler returns once the batch's copy is done: the copy of batch n still
/// overlaps the step of batch n − 1 on the device); <see cref="Flush"/> ends the run.</item>
/// <item><see cref="TrainAsync"/> subscribes to <see cref="DataLoader.AsObservable"/> (or any observable of batches).</item>
/// </list>
/// <para>
/// A trainer is not thread-safe: one loop drives it, and a second concurrent call throws
/// <see cref="InvalidOperationException"/>. Errors inside libtorch come back as <see cref="TorchException"/> (or
/// <see cref="ArgumentException"/> for batches that do not fit the model) with libtorch's message; after one, the
/// staged batches are dropped and returned to the pool, and the trainer can be used again.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// using var model = TorchModel.Mlp([784, 256, 128, 100, 10], seed: 0);
/// using var optimizer = TorchOptimizer.Adam(model, learningRate: 1e-3);
/// await using var trainer = new TorchTrainer(model, optimizer, TorchLoss.CrossEntropy, new TorchTrainerOptions { Device = TorchDevice.Best });
/// for (var epoch = 0; epoch &lt; 10; epoch++)
/// {
///     var train = await trainer.TrainEpochAsync(trainLoader);
///     var test = await trainer.EvaluateAsync(testLoader);
///     Console.WriteLine($"epoch {epoch}: loss {train.MeanLoss:F4}, test accuracy {test.Accuracy:P2}");
/// }
/// </code>
/// </example>
public sealed class TorchTrainer : IAsyncDisposable, IDisposable
{
    private readonly TrainerHandle _handle;
    private readonly TorchTrainerOptions _options;
    private readonly TimeProvider _time;

    // Batches whose host memory the bridge may still read, in staging order (the bridge releases them in that order).
    private readonly Queue<Batch> _held = new();
    private int _staged;
    private int _busy;
    private int _disposed;

    // The run fed through OnBatchAsync / TrainAsync, until Flush.
    private bool _windowOpen;
    private long _windowStart;
    private long _windowLastReturn;
    private long _windowEpoch = -1;
    private int _windowBatches;
    private long _windowSamples;
    private TimeSpan _windowWait;

    /// <summary>Creates a trainer and moves the model to its device.</summary>
    /// <param name="model">The model to train or evaluate.</param>
    /// <param name="optimizer">The optimizer of <paramref name="model"/>; null for a trainer that only evaluates.</param>
    /// <param name="loss">The loss to minimize and report.</param>
    /// <param name="options">The device and prefetch settings; copied.</param>
    public TorchTrainer(TorchModel model, TorchOptimizer? optimizer, TorchLoss loss, TorchTrainerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (optimizer is not null && !ReferenceEquals(optimizer.Model, model))
        {
            throw new ArgumentException("The optimizer was created for another model.", nameof(optimizer));
        }

        if (loss is not (TorchLoss.MeanSquaredError or TorchLoss.CrossEntropy))
        {
            throw new ArgumentOutOfRangeException(nameof(loss), loss, "Unknown loss.");
        }

        _options = (options ?? new TorchTrainerOptions()).Clone();
        _time = _options.TimeProvider;
        Model = model;
        Optimizer = optimizer;
        Loss = loss;
        Device = _options.Device ?? model.Device;

        var optimizerHandle = optimizer?.Handle;
        var added = false;
        try
        {
            optimizerHandle?.DangerousAddRef(ref added);
            NativeError.Check(NativeMethods.slt_trainer_create(
                model.Handle,
                optimizerHandle?.DangerousGetHandle() ?? 0,
                (int)loss,
                (int)Device.Type,
                Device.Index,
                _options.FeatureScale,
                _options.PageLockBatches ? 1 : 0,
                out _handle));
        }
        finally
        {
            if (added)
            {
                optimizerHandle!.DangerousRelease();
            }
        }

        model.SetDevice(Device);
    }

    /// <summary>Gets the model.</summary>
    public TorchModel Model { get; }

    /// <summary>Gets the optimizer, or null for an evaluation-only trainer.</summary>
    public TorchOptimizer? Optimizer { get; }

    /// <summary>Gets the loss.</summary>
    public TorchLoss Loss { get; }

    /// <summary>Gets the device the trainer steps on.</summary>
    public TorchDevice Device { get; }

    /// <summary>Gets how many batches are staged ahead of the step.</summary>
    public int PrefetchDepth => _options.PrefetchDepth;

    /// <summary>Gets the trainer's counters: staged batches, page-locked buffers, bytes copied, steps.</summary>
    public unsafe TorchTrainerStatistics Statistics
    {
        get
        {
            TrainerStats stats;
            NativeError.Check(NativeMethods.slt_trainer_stats_get(Handle, &stats));
            return new TorchTrainerStatistics(stats.Staged, stats.HostHeld, stats.PinnedBuffers, stats.BytesCopied, stats.Steps);
        }
    }

    private TrainerHandle Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            return _handle;
        }
    }

    /// <summary>
    /// Reads the loader's next epoch and runs one training step per batch (forward, loss, backward, optimizer step),
    /// prefetching batches to the device, and disposes every batch once the device no longer needs its memory.
    /// </summary>
    /// <returns>The epoch's steps, samples, mean loss, training accuracy, time and input wait.</returns>
    /// <exception cref="InvalidOperationException">The trainer has no optimizer, or is busy with another call.</exception>
    public Task<TorchEpochResult> TrainEpochAsync(DataLoader loader, CancellationToken cancellationToken = default)
    {
        if (Optimizer is null)
        {
            throw new InvalidOperationException("This trainer has no optimizer: it can only evaluate.");
        }

        return RunEpochAsync(loader, train: true, cancellationToken);
    }

    /// <summary>
    /// Reads the loader's next epoch and evaluates every batch without gradients or updates (<c>model.eval()</c> under
    /// <c>torch.no_grad()</c>). Use a loader without shuffle for test data.
    /// </summary>
    /// <returns>The loss sum and, for cross-entropy, the number of correct predictions over the epoch.</returns>
    public async Task<EvaluationResult> EvaluateAsync(DataLoader loader, CancellationToken cancellationToken = default)
    {
        var result = await RunEpochAsync(loader, train: false, cancellationToken).ConfigureAwait(false);
        return new EvaluationResult(result.MeanLoss * result.Samples, result.Correct, result.Samples, result.Elapsed);
    }

    /// <summary>
    /// Trains on one batch now: stages it, runs the step and waits for the device (no prefetch), then returns the
    /// batch's mean loss before the update. The batch stays the caller's to dispose.
    /// </summary>
    public float TrainStep(Batch batch)
    {
        if (Optimizer is null)
        {
            throw new InvalidOperationException("This trainer has no optimizer: it can only evaluate.");
        }

        return (float)RunSingle(batch, train: true).Loss;
    }

    /// <summary>Evaluates one batch now (no gradients, no update). The batch stays the caller's to dispose.</summary>
    public BatchEvaluation Evaluate(Batch batch)
    {
        var (loss, correct, count) = RunSingle(batch, train: false);
        return new BatchEvaluation(loss * count, (int)correct, (int)count);
    }

    /// <summary>
    /// A handler for <see cref="DataLoader.ForEachAsync"/> that trains on each batch, prefetching to the device: it
    /// stages the batch, runs the steps that are due, and returns once the batch's memory is no longer needed (its
    /// copy to the device is done, or on the CPU its step has run). Call <see cref="Flush"/> after the subscription to
    /// run the batches still staged and get the totals.
    /// </summary>
    /// <example><c>await loader.ForEachAsync(trainer.OnBatchAsync, epochs: 1); var result = trainer.Flush();</c></example>
    public ValueTask OnBatchAsync(Batch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        cancellationToken.ThrowIfCancellationRequested();
        if (Optimizer is null)
        {
            throw new InvalidOperationException("This trainer has no optimizer: it can only evaluate.");
        }

        OnBatchCore(batch);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Runs the batches still staged by <see cref="OnBatchAsync"/> or <see cref="TrainAsync"/>, waits for the device
    /// and returns the totals since the last flush.
    /// </summary>
    public TorchEpochResult Flush()
    {
        Enter();
        try
        {
            Drain(train: true, owned: false);
            var result = Totals(_windowEpoch, _windowBatches, _windowSamples, _windowOpen ? _time.GetElapsedTime(_windowStart) : TimeSpan.Zero, _windowWait);
            CloseWindow();
            return result;
        }
        catch
        {
            Abort(owned: false);
            CloseWindow();
            throw;
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// Subscribes to <paramref name="batches"/> (for example <c>loader.AsObservable(epochs: 3)</c>), trains on each batch
    /// as <see cref="OnBatchAsync"/> does, and completes with the totals when the observable completes.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled (the subscription is disposed).</exception>
    public async Task<TorchEpochResult> TrainAsync(IObservable<Batch> batches, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batches);
        if (Optimizer is null)
        {
            throw new InvalidOperationException("This trainer has no optimizer: it can only evaluate.");
        }

        var observer = new StepObserver(this);
        using (batches.Subscribe(observer))
        using (cancellationToken.Register(static state => ((StepObserver)state!).Cancel(), observer))
        {
            return await observer.Completion.ConfigureAwait(false);
        }
    }

    /// <summary>Waits for the device to finish every copy and step issued so far.</summary>
    public void Synchronize() => NativeError.Check(NativeMethods.slt_trainer_synchronize(Handle));

    /// <summary>Waits for the device, then frees the trainer. Dispose it before the loader (see <see cref="TorchTrainerOptions.PageLockBatches"/>). Idempotent.</summary>
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Frees the trainer; see <see cref="DisposeAsync"/>.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_held.Count > 0 || _staged > 0)
        {
            // Only a run abandoned from another thread gets here; wait for the device before the buffers go back.
            _ = NativeMethods.slt_trainer_reset(_handle);
            _staged = 0;
            _held.Clear();
        }

        _handle.Dispose();
    }

    /// <inheritdoc/>
    public override string ToString() => $"TorchTrainer({Model.Kind} on {Device}, {Loss}, {Optimizer?.ToString() ?? "no optimizer"}, prefetch depth {PrefetchDepth})";

    private async Task<TorchEpochResult> RunEpochAsync(DataLoader loader, bool train, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(loader);
        CheckPool(loader);
        Enter();
        var tags = TorchMetrics.Tags(_options.Name, Device, train);
        try
        {
            Drain(train: true, owned: false);
            NativeError.Check(NativeMethods.slt_trainer_totals(Handle, reset: 1, out _, out _, out _));

            var start = _time.GetTimestamp();
            var inputWait = TimeSpan.Zero;
            long epoch = -1, samples = 0;
            var batches = 0;
            cancellationToken.ThrowIfCancellationRequested();
            var enumerator = loader.ReadEpochAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
            await using (enumerator.ConfigureAwait(false))
            {
                while (true)
                {
                    var asked = _time.GetTimestamp();
                    if (!await enumerator.MoveNextAsync().ConfigureAwait(false))
                    {
                        break;
                    }

                    var waited = _time.GetElapsedTime(asked);
                    inputWait += waited;
                    TorchMetrics.InputWait.Add(waited.TotalSeconds, tags);

                    var batch = enumerator.Current;
                    if (cancellationToken.IsCancellationRequested)
                    {
                        batch.Dispose();
                        cancellationToken.ThrowIfCancellationRequested();
                    }

                    var begin = _time.GetTimestamp();
                    epoch = batch.Epoch;
                    batches++;
                    samples += batch.Count;
                    Process(batch, train, owned: true, tags);
                    TorchMetrics.StepDuration.Record(_time.GetElapsedTime(begin).TotalSeconds, tags);
                }
            }

            Drain(train, owned: true);
            return Totals(epoch, batches, samples, _time.GetElapsedTime(start), inputWait);
        }
        catch
        {
            Abort(owned: true);
            throw;
        }
        finally
        {
            Exit();
        }
    }

    private (double Loss, long Correct, long Count) RunSingle(Batch batch, bool train)
    {
        ArgumentNullException.ThrowIfNull(batch);
        Enter();
        var tags = TorchMetrics.Tags(_options.Name, Device, train);
        try
        {
            var begin = _time.GetTimestamp();
            Drain(train: true, owned: false);
            Stage(batch, tags);
            Step(train);
            Release(maxHeld: 0, owned: false);
            NativeError.Check(NativeMethods.slt_trainer_last_step(Handle, out var loss, out var correct, out var count));
            TorchMetrics.Steps.Add(1, tags);
            TorchMetrics.StepDuration.Record(_time.GetElapsedTime(begin).TotalSeconds, tags);
            return (loss, correct, count);
        }
        catch
        {
            Abort(owned: false);
            throw;
        }
        finally
        {
            Exit();
        }
    }

    private void OnBatchCore(Batch batch)
    {
        Enter();
        var tags = TorchMetrics.Tags(_options.Name, Device, train: true);
        try
        {
            var begin = _time.GetTimestamp();
            if (!_windowOpen)
            {
                NativeError.Check(NativeMethods.slt_trainer_totals(Handle, reset: 1, out _, out _, out _));
                _windowOpen = true;
                _windowStart = begin;
            }
            else
            {
                var waited = _time.GetElapsedTime(_windowLastReturn, begin);
                _windowWait += waited;
                TorchMetrics.InputWait.Add(waited.TotalSeconds, tags);
            }

            _windowEpoch = batch.Epoch;
            _windowBatches++;
            _windowSamples += batch.Count;
            Process(batch, train: true, owned: false, tags);
            _windowLastReturn = _time.GetTimestamp();
            TorchMetrics.StepDuration.Record(_time.GetElapsedTime(begin, _windowLastReturn).TotalSeconds, tags);
        }
        catch
        {
            Abort(owned: false);
            CloseWindow();
            throw;
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>
    /// Stages a batch and runs the steps that are due. An owned batch (read by this trainer) is kept until the bridge
    /// releases it and disposed then; a borrowed one (a handler's) must be free when this returns.
    /// </summary>
    private void Process(Batch batch, bool train, bool owned, in System.Diagnostics.TagList tags)
    {
        try
        {
            Stage(batch, tags);
        }
        catch when (owned)
        {
            batch.Dispose();
            throw;
        }

        var depth = _options.PrefetchDepth;
        if (owned)
        {
            StepWhileMoreThan(depth, train, tags);
            Release(maxHeld: depth, owned: true);
        }
        else
        {
            // On the CPU the step reads the batch in place, so a borrowed batch is stepped before returning; on CUDA
            // the batch only has to be copied, and its step can wait until the next batches come.
            StepWhileMoreThan(Device.IsCuda ? depth : 0, train, tags);
            Release(maxHeld: 0, owned: false);
        }
    }

    private unsafe void Stage(Batch batch, in System.Diagnostics.TagList tags)
    {
        var features = NativeMethods.View(batch.Features);
        var labels = NativeMethods.View(batch.Labels);
        NativeError.Check(NativeMethods.slt_trainer_stage(Handle, &features, &labels));
        _held.Enqueue(batch);
        _staged++;
        TorchMetrics.Samples.Add(batch.Count, tags);
        if (Device.IsCuda)
        {
            TorchMetrics.BytesCopied.Add(batch.ByteLength, tags);
        }
    }

    private void Step(bool train)
    {
        _staged--;
        NativeError.Check(NativeMethods.slt_trainer_step(Handle, train ? 1 : 0));
    }

    private void StepWhileMoreThan(int staged, bool train, in System.Diagnostics.TagList tags)
    {
        while (_staged > staged)
        {
            Step(train);
            TorchMetrics.Steps.Add(1, tags);
        }
    }

    private void Release(int maxHeld, bool owned)
    {
        NativeError.Check(NativeMethods.slt_trainer_release(Handle, maxHeld, out var released));
        for (var i = 0; i < released; i++)
        {
            var batch = _held.Dequeue();
            if (owned)
            {
                batch.Dispose();
            }
        }
    }

    /// <summary>Runs every staged batch and waits until no batch memory is in use.</summary>
    private void Drain(bool train, bool owned)
    {
        if (_staged == 0 && _held.Count == 0)
        {
            return;
        }

        var tags = TorchMetrics.Tags(_options.Name, Device, train);
        StepWhileMoreThan(0, train, tags);
        Release(maxHeld: 0, owned);
    }

    /// <summary>After an error: waits for the device, drops the staged batches and returns the owned ones to the pool.</summary>
    private void Abort(bool owned)
    {
        if (_held.Count == 0 && _staged == 0)
        {
            return;
        }

        _ = NativeMethods.slt_trainer_reset(_handle);
        _staged = 0;
        while (_held.TryDequeue(out var batch))
        {
            if (owned)
            {
                batch.Dispose();
            }
        }
    }

    private TorchEpochResult Totals(long epoch, int batches, long samples, TimeSpan elapsed, TimeSpan inputWait)
    {
        NativeError.Check(NativeMethods.slt_trainer_totals(Handle, reset: 1, out var lossSum, out var correct, out var count));
        Debug.Assert(count == samples, "Every staged sample was stepped.");
        return new TorchEpochResult(epoch, batches, samples, count == 0 ? 0 : lossSum / count, correct, elapsed, inputWait);
    }

    private void CloseWindow()
    {
        _windowOpen = false;
        _windowEpoch = -1;
        _windowBatches = 0;
        _windowSamples = 0;
        _windowWait = TimeSpan.Zero;
    }

    private void CheckPool(DataLoader loader)
    {
        var options = loader.Options;
        var pool = options.EffectivePoolSize;
        if (_options.PrefetchDepth >= pool)
        {
            throw new ArgumentException(
                $"The trainer keeps {_options.PrefetchDepth} batches staged while it asks for the next, but the loader's pool holds {pool} buffers: raise LoaderOptions.PoolSize above the prefetch depth or lower TorchTrainerOptions.PrefetchDepth.",
                nameof(loader));
        }
    }

    private void Enter()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Interlocked.Exchange(ref _busy, 1) != 0)
        {
            throw new InvalidOperationException("The trainer is already in use: one loop drives a trainer at a time.");
        }
    }

    private void Exit() => Volatile.Write(ref _busy, 0);

    /// <summary>Feeds a trainer from an observable; completes with the totals when the observable does.</summary>
    private sealed class StepObserver(TorchTrainer trainer) : IObserver<Batch>
    {
        private readonly TaskCompletionSource<TorchEpochResult> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _stopped;

        public Task<TorchEpochResult> Completion => _completion.Task;

        public void OnNext(Batch value)
        {
            if (Volatile.Read(ref _stopped) != 0)
            {
                return;
            }

            try
            {
                trainer.OnBatchCore(value);
            }
            catch (Exception ex) when (Stop())
            {
                _completion.TrySetException(ex);
            }
        }

        public void OnError(Exception error)
        {
            if (Stop())
            {
                DiscardQuietly();
                _completion.TrySetException(error);
            }
        }

        public void OnCompleted()
        {
            if (!Stop())
            {
                return;
            }

            try
            {
                _completion.TrySetResult(trainer.Flush());
            }
            catch (Exception ex)
            {
                _completion.TrySetException(ex);
            }
        }

        public void Cancel()
        {
            if (Stop())
            {
                _completion.TrySetCanceled();
            }
        }

        private bool Stop() => Interlocked.Exchange(ref _stopped, 1) == 0;

        private void DiscardQuietly()
        {
            try
            {
                trainer.Flush();
            }
            catch (Exception ex) when (ex is TorchException or InvalidOperationException or ObjectDisposedException or ArgumentException)
            {
                // The observable's own error is the one to report.
            }
        }
    }
}

/// <summary>A trainer's counters.</summary>
/// <param name="Staged">Batches staged and not yet stepped.</param>
/// <param name="HostHeld">Batches whose host memory is still in use.</param>
/// <param name="PinnedBuffers">Host buffers page-locked for asynchronous copies (CUDA; 0 on the CPU).</param>
/// <param name="BytesCopied">Bytes copied from host to device (0 on the CPU, where batches are read in place).</param>
/// <param name="Steps">Steps run since the trainer was created.</param>
[StructLayout(LayoutKind.Auto)]
public readonly record struct TorchTrainerStatistics(int Staged, int HostHeld, long PinnedBuffers, long BytesCopied, long Steps);
