using StreamingLoader.Telemetry;

namespace StreamingLoader.Internal;

/// <summary>
/// Runs an <see cref="Autotuner"/> while the loader runs: every tick it reads the consumer's counters, the workers' busy
/// time from the <see cref="WorkerGate"/>s and the pool's memory, and applies what the tuner decides to the gates and
/// the pool. The loader's lifetime owns the loop's task.
/// </summary>
internal sealed class AutotuneLoop
{
    private readonly Autotuner _tuner;
    private readonly IReadOnlyList<WorkerGate> _gates;
    private readonly BatchPool _pool;
    private readonly PipelineCounters _counters;
    private readonly TimeProvider _time;
    private readonly TimeSpan _tick;
    private readonly double[] _lastBusy;
    private double _busy;

    public AutotuneLoop(Autotuner tuner, IReadOnlyList<WorkerGate> gates, BatchPool pool, PipelineCounters counters, TimeProvider time, TimeSpan tick)
    {
        (_tuner, _gates, _pool, _counters, _time, _tick) = (tuner, gates, pool, counters, time, tick);
        _lastBusy = new double[gates.Count];
        Apply();
    }

    /// <summary>Gets what the tuner set and why, with the pool's memory as it is now.</summary>
    public AutotuneStatus Status => _tuner.Status with { MemoryBytes = _pool.AllocatedBytes };

    /// <summary>Ticks until <paramref name="cancellationToken"/> is canceled (the loader stops).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_tick, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                Tick();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Reads the totals once and applies a decision, if any.</summary>
    public void Tick()
    {
        if (_tuner.Observe(Read()))
        {
            Apply();
        }
    }

    private AutotuneSample Read()
    {
        // The busiest block sets the pace: add, per tick, the largest increase among the blocks.
        var most = 0.0;
        for (var i = 0; i < _gates.Count; i++)
        {
            var busy = _gates[i].Busy.TotalSeconds;
            most = Math.Max(most, busy - _lastBusy[i]);
            _lastBusy[i] = busy;
        }

        _busy += most;
        return new AutotuneSample(
            Interlocked.Read(ref _counters.Samples),
            Interlocked.Read(ref _counters.Batches),
            TimeSpan.FromTicks(Interlocked.Read(ref _counters.WaitTicks)).TotalSeconds,
            TimeSpan.FromTicks(Interlocked.Read(ref _counters.StepTicks)).TotalSeconds,
            _busy,
            (int)Math.Min(int.MaxValue, _pool.HeldByConsumer),
            _pool.LargestBufferBytes,
            _pool.AllocatedBytes);
    }

    private void Apply()
    {
        foreach (var gate in _gates)
        {
            gate.Resize(_tuner.Workers);
        }

        // Workers run on the thread pool and may block in user code (a read that waits): the pool must have a thread
        // for each, or it adds them about one a second and more workers would not run. Raised, never lowered.
        if (_gates.Count > 0)
        {
            var threads = (_gates.Count * _tuner.Workers) + 4;
            ThreadPool.GetMinThreads(out var worker, out var io);
            if (worker < threads)
            {
                ThreadPool.SetMinThreads(threads, io);
            }
        }

        _pool.Resize(_tuner.PoolSize);
    }
}
