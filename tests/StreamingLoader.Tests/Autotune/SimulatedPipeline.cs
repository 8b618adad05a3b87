using StreamingLoader.Internal;

namespace StreamingLoader.Tests.Autotune;

/// <summary>
/// A pipeline made of arithmetic, to drive the <see cref="Autotuner"/> with a fake clock and no machine load: workers
/// that each need <see cref="WorkPerSample"/> seconds per sample (waiting, or on the CPU when <see cref="Cores"/> is
/// set, where more workers than cores only share them), a consumer that needs <see cref="StepPerSample"/> seconds per
/// sample, and seeded noise on every measurement. Each <see cref="Tick"/> advances the clock and feeds the totals.
/// </summary>
internal sealed class SimulatedPipeline
{
    private readonly Random _noise;
    private double _samples;
    private double _wait;
    private double _step;
    private double _busy;

    public SimulatedPipeline(AutotuneLimits limits, int seed = 1, AutotuneSettings? settings = null)
    {
        _noise = new Random(seed);
        Settings = settings ?? AutotuneSettings.Default;
        Tuner = new Autotuner(limits, Settings, Clock);
    }

    public ManualClock Clock { get; } = new();

    public AutotuneSettings Settings { get; }

    public Autotuner Tuner { get; }

    /// <summary>Gets or sets the worker time per sample, in seconds.</summary>
    public double WorkPerSample { get; set; } = 0.002;

    /// <summary>Gets or sets the consumer's time per sample, in seconds (0: a consumer that takes no time).</summary>
    public double StepPerSample { get; set; }

    /// <summary>Gets or sets the cores of a CPU-bound pipeline; 0 for work that waits (I/O), where every worker adds.</summary>
    public int Cores { get; set; }

    public int BatchSize { get; set; } = 32;

    /// <summary>Gets or sets the relative noise (standard deviation) of each tick's throughput.</summary>
    public double Noise { get; set; } = 0.03;

    /// <summary>
    /// Gets or sets the relative noise (standard deviation) of each tick's worker busy time: on a loaded machine a read
    /// that waits 2 ms takes longer when its thread is not scheduled at once.
    /// </summary>
    public double WorkNoise { get; set; }

    /// <summary>
    /// Gets or sets the consumer's time per batch beyond its step (its loop, the GC, a thread not scheduled), with
    /// relative noise of 100 %: a consumer that takes no time still spends a little, noisy, between batches.
    /// </summary>
    public double ConsumerOverhead { get; set; }

    /// <summary>Gets or sets the bytes of the largest batch buffer (0: none allocated yet).</summary>
    public long BufferBytes { get; set; } = 1 << 20;

    public int HeldByConsumer { get; set; }

    /// <summary>
    /// Gets or sets whether samples reach the consumer a whole batch at a time, as in a real loader (false: as a
    /// smooth flow). With slow batches most ticks then see no batch and a few see one.
    /// </summary>
    public bool WholeBatches { get; set; }

    public double Seconds { get; private set; }

    /// <summary>Gets the samples/s of the last tick.</summary>
    public double Rate { get; private set; }

    /// <summary>The samples/s the model delivers with <paramref name="workers"/> workers, without noise.</summary>
    public double RateWith(int workers)
    {
        var parallel = Cores > 0 ? Math.Min(workers, Cores) : workers;
        var produced = parallel / WorkPerSample;
        return StepPerSample > 0 ? Math.Min(produced, 1 / StepPerSample) : produced;
    }

    /// <summary>Advances the clock by one tick of the tuner's settings and feeds it the totals; returns whether it changed something.</summary>
    public bool Tick()
    {
        var dt = Settings.Tick.TotalSeconds;
        var workers = Tuner.Workers;
        var rate = RateWith(workers) * Math.Max(0.1, 1 + (Noise * Gaussian()));
        var consumerRate = StepPerSample > 0 ? 1 / StepPerSample : double.PositiveInfinity;
        var waitShare = StepPerSample > 0 ? Math.Clamp(1 - (rate / consumerRate), 0, 1) : 1;

        // Wall time the workers spend per sample: on the CPU, more workers than cores stretch each one's time.
        var pipelineBound = rate < consumerRate * 0.999;
        var stretch = Cores > 0 && pipelineBound ? Math.Max(1.0, workers / (double)Cores) : 1.0;
        _busy += Math.Min(workers * dt, rate * dt * WorkPerSample * stretch * Math.Max(0.1, 1 + (WorkNoise * Gaussian())));
        var overhead = Math.Min(dt * 0.5, rate * dt / BatchSize * ConsumerOverhead * Math.Max(0, 1 + Gaussian()));
        _samples += rate * dt;
        _wait += (waitShare * dt) - (waitShare * overhead);
        _step += ((1 - waitShare) * dt) + (waitShare * overhead);
        Seconds += dt;
        Rate = rate;
        Clock.Advance(Settings.Tick);
        var samples = WholeBatches ? (long)(_samples / BatchSize) * BatchSize : (long)_samples;
        var totals = new AutotuneSample(samples, samples / BatchSize, _wait, _step, _busy, HeldByConsumer, BufferBytes, Tuner.PoolSize * BufferBytes);
        return Tuner.Observe(totals);
    }

    /// <summary>Ticks for <paramref name="seconds"/>, calling <paramref name="each"/> after each tick.</summary>
    public void Run(double seconds, Action? each = null)
    {
        var end = Seconds + seconds - 1e-9;
        while (Seconds < end)
        {
            Tick();
            each?.Invoke();
        }
    }

    private double Gaussian() => Math.Sqrt(-2 * Math.Log(1 - _noise.NextDouble())) * Math.Cos(2 * Math.PI * _noise.NextDouble());
}
