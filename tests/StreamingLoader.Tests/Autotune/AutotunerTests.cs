using StreamingLoader.Internal;

namespace StreamingLoader.Tests.Autotune;

/// <summary>
/// The autotuner's decisions on a <see cref="SimulatedPipeline"/>: a fake clock and totals made of arithmetic (with
/// seeded noise), so that machine load cannot change the outcome.
/// </summary>
public sealed class AutotunerTests
{
    private static AutotuneLimits Limits(long budget = 1L << 40, int fixedPool = LoaderOptions.Auto, bool tunePrefetch = true) =>
        new(TuneWorkers: true, TunePrefetch: tunePrefetch, Workers: AutotuneLimits.StartWorkers, Prefetch: AutotuneLimits.StartPrefetch, fixedPool, budget, MaxWorkers: 64, MaxPrefetch: 32);

    [Fact]
    public void Observe_ReadsThatWait_GrowPastTheCoresToTheConsumersPaceWithinFiveSeconds()
    {
        // 2 ms of waiting per sample, a consumer that takes 16,000 samples/s: 32 workers keep it fed.
        var pipeline = new SimulatedPipeline(Limits()) { WorkPerSample = 0.002, StepPerSample = 1.0 / 16_000 };
        var best = pipeline.RateWith(64);
        double? reached = null;
        pipeline.Run(5, () => reached ??= pipeline.Tuner.Workers >= 29 && pipeline.RateWith(pipeline.Tuner.Workers) >= 0.9 * best ? pipeline.Seconds : null);

        Assert.True(reached is not null, $"after 5 s: {pipeline.Tuner.Status}");
        pipeline.Run(30);
        Assert.InRange(pipeline.Tuner.Workers, 29, 64);
        Assert.True(pipeline.RateWith(pipeline.Tuner.Workers) >= 0.9 * best, pipeline.Tuner.Status.ToString());
    }

    [Fact]
    public void Observe_CpuBoundOnTwoCores_MoreWorkersUndoneAndNotRetriedDuringTheCooldown()
    {
        // Work on the CPU, two cores, a consumer that takes no time: more than two workers only share the cores.
        var pipeline = new SimulatedPipeline(Limits()) { WorkPerSample = 0.000_05, Cores = 2 };
        var workers = new List<int>();
        pipeline.Run(60, () => workers.Add(pipeline.Tuner.Workers));

        Assert.Equal(2, pipeline.Tuner.Workers);
        Assert.True(workers.Count(w => w == 2) >= 0.9 * workers.Count, $"2 workers only {workers.Count(w => w == 2)} of {workers.Count} ticks");

        // Each trial is a change and its undoing: 4 then 3 workers, prefetch 4 then 3, then again as each cool-down
        // (10, 20, 40 s) ends.
        Assert.InRange(pipeline.Tuner.Status.Changes, 2, 20);
        Assert.Equal("no_gain", pipeline.Tuner.Status.Reason);
    }

    [Fact]
    public void Observe_ConsumerStepDoubles_FewerWorkersWithinFiveSecondsAndTheConsumerStaysFed()
    {
        var pipeline = new SimulatedPipeline(Limits()) { WorkPerSample = 0.002, StepPerSample = 1.0 / 8_000 };
        pipeline.Run(20);
        var before = pipeline.Tuner.Workers;
        Assert.InRange(before, 16, 40);

        pipeline.StepPerSample *= 2;
        var rates = new List<double>();
        double? settled = null;
        pipeline.Run(5, () =>
        {
            rates.Add(pipeline.Rate);
            settled ??= pipeline.Tuner.Workers <= 12 ? pipeline.Seconds : null;
        });

        Assert.True(settled is not null, $"{before} workers before, after 5 s: {pipeline.Tuner.Status}");
        Assert.InRange(pipeline.Tuner.Workers, 8, 12);
        Assert.True(rates.Average() >= 0.9 * 4_000, $"{rates.Average():F0} samples/s");
    }

    [Fact]
    public void Observe_ConsumerSpeedsUp_MoreWorkersWithinFiveSeconds()
    {
        var pipeline = new SimulatedPipeline(Limits()) { WorkPerSample = 0.002, StepPerSample = 1.0 / 4_000 };
        pipeline.Run(20);
        Assert.InRange(pipeline.Tuner.Workers, 8, 20);

        pipeline.StepPerSample /= 2;
        double? reached = null;
        pipeline.Run(5, () => reached ??= pipeline.RateWith(pipeline.Tuner.Workers) >= 0.9 * 8_000 ? pipeline.Seconds : null);

        Assert.True(reached is not null, pipeline.Tuner.Status.ToString());
    }

    [Fact]
    public void Observe_SourceTurnsIntoSlowReads_MoreWorkersWithinFiveSecondsDespiteTheCooldown()
    {
        // CPU-bound on two cores (10,000 samples/s) under a consumer that takes 16,000: more workers were tried,
        // undone, and barred for a cool-down of 10-20 s.
        var pipeline = new SimulatedPipeline(Limits()) { WorkPerSample = 0.000_2, Cores = 2, StepPerSample = 1.0 / 16_000 };
        pipeline.Run(6);
        Assert.Equal(2, pipeline.Tuner.Workers);
        Assert.Equal("no_gain", pipeline.Tuner.Status.Reason);

        // The source becomes a network read: 2 ms of waiting per sample, so 32 workers for the consumer's pace.
        (pipeline.WorkPerSample, pipeline.Cores) = (0.002, 0);
        double? reached = null;
        pipeline.Run(5, () => reached ??= pipeline.RateWith(pipeline.Tuner.Workers) >= 0.9 * 16_000 ? pipeline.Seconds : null);

        Assert.True(reached is not null, pipeline.Tuner.Status.ToString());
    }

    [Fact]
    public void Observe_ReadsSlowDown_MoreWorkersWithinFiveSeconds()
    {
        var pipeline = new SimulatedPipeline(Limits()) { WorkPerSample = 0.002, StepPerSample = 1.0 / 8_000 };
        pipeline.Run(20);
        var before = pipeline.Tuner.Workers;

        // Each read now waits 8 ms instead of 2: four times the workers are needed for the same pace.
        pipeline.WorkPerSample = 0.008;
        double? reached = null;
        pipeline.Run(5, () => reached ??= pipeline.RateWith(pipeline.Tuner.Workers) >= 0.9 * 8_000 ? pipeline.Seconds : null);

        Assert.True(reached is not null, $"{before} workers before; now {pipeline.Tuner.Status}");
    }

    [Fact]
    public void Observe_MemoryBudget_PoolTimesBufferBytesNeverAboveIt()
    {
        // Buffers of 1 MiB, a budget of 40 MiB: prefetch + 2 × workers + 2 ≤ 40 whatever the demand.
        const long budget = 40L << 20;
        var pipeline = new SimulatedPipeline(Limits(budget)) { WorkPerSample = 0.002 };
        pipeline.Run(30, () => Assert.True(pipeline.Tuner.PoolSize * pipeline.BufferBytes <= budget, pipeline.Tuner.Status.ToString()));

        Assert.Equal(18, pipeline.Tuner.Workers);
    }

    [Fact]
    public void Observe_BuffersGrowPastTheBudget_FewerBuffersAtTheNextTick()
    {
        // Variable-length batches: the largest buffer grows from 1 to 4 MiB.
        const long budget = 64L << 20;
        var pipeline = new SimulatedPipeline(Limits(budget)) { WorkPerSample = 0.002 };
        pipeline.Run(20);
        Assert.True(pipeline.Tuner.PoolSize > 16);

        pipeline.BufferBytes = 4L << 20;
        pipeline.Tick();

        Assert.True(pipeline.Tuner.PoolSize * pipeline.BufferBytes <= budget, pipeline.Tuner.Status.ToString());
        Assert.Equal("memory_budget", pipeline.Tuner.Status.Reason);
        pipeline.Run(20, () => Assert.True(pipeline.Tuner.PoolSize * pipeline.BufferBytes <= budget, pipeline.Tuner.Status.ToString()));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Observe_SlowBatchesThatWait_WithinTenPercentOfTheBestWithinFiveSeconds(int seed)
    {
        // bench images under load: batches of 32 at about 4 a second with 2 workers, delivered whole; a consumer that
        // takes 512 samples/s, so 8 workers (16 batches/s) are the best.
        var pipeline = new SimulatedPipeline(Limits(), seed) { WorkPerSample = 2.0 / 128, StepPerSample = 1.0 / 512, WholeBatches = true, Noise = 0.05 };
        var best = pipeline.RateWith(64);
        double? reached = null;
        double? firstChange = null;
        pipeline.Run(10, () =>
        {
            reached ??= pipeline.RateWith(pipeline.Tuner.Workers) >= 0.9 * best ? pipeline.Seconds : null;
            firstChange ??= pipeline.Tuner.Status.Changes > 0 ? pipeline.Seconds : null;
        });

        // Clearly starved (the consumer waits 75 %, the workers are all busy): the first move comes after the 2 batches
        // of settling and 3 of a window (1.25 s), not after a window of MaxWindow.
        Assert.True(firstChange <= 1.5, $"first change at {firstChange} s");
        Assert.True(reached <= 8, $"within 10 % of the best after {reached?.ToString("F1", System.Globalization.CultureInfo.InvariantCulture) ?? "more than 10"} s: {pipeline.Tuner.Status}");
        pipeline.Run(30);
        Assert.True(pipeline.RateWith(pipeline.Tuner.Workers) >= 0.9 * best, pipeline.Tuner.Status.ToString());
    }

    [Fact]
    public void Observe_SlowBatches_NoChangeBeforeEnoughBatchesToJudge()
    {
        // One batch of 32 samples every 3.2 s at the start: 2 workers at 100 ms per sample.
        var pipeline = new SimulatedPipeline(Limits()) { WorkPerSample = 0.2, Noise = 0 };
        long batchesAtFirstChange = -1;
        var batches = 0.0;
        pipeline.Run(60, () =>
        {
            batches += pipeline.Rate * pipeline.Settings.Tick.TotalSeconds / pipeline.BatchSize;
            if (batchesAtFirstChange < 0 && pipeline.Tuner.Status.Changes > 0)
            {
                batchesAtFirstChange = (long)batches;
            }
        });

        // The start settles on 2 batches, then a window of MaxWindow needs 3 (the defaults, written out so that a
        // change to them shows here).
        Assert.True(batchesAtFirstChange >= 5, $"first change after {batchesAtFirstChange} batches");
        Assert.True(pipeline.Tuner.Workers > 2, pipeline.Tuner.Status.ToString());
    }

    [Fact]
    public void Observe_NoisyConsumerBoundSteadyState_NoChangesAfterConverging()
    {
        // A consumer at 4,000 samples/s, reads that wait 2 ms, ±10 % noise on every tick.
        var pipeline = new SimulatedPipeline(Limits(), seed: 7) { WorkPerSample = 0.002, StepPerSample = 1.0 / 4_000, Noise = 0.10 };
        pipeline.Run(15);
        var changes = pipeline.Tuner.Status.Changes;
        var workers = pipeline.Tuner.Workers;
        pipeline.Run(60);

        Assert.True(pipeline.Tuner.Status.Changes - changes <= 4, $"{pipeline.Tuner.Status.Changes - changes} changes in 60 s at {workers} → {pipeline.Tuner.Workers} workers: {pipeline.Tuner.Status}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Observe_NoisyCpuBoundAtItsBest_StaysThereAndRetriesOnlyAsCooldownsEnd(int seed)
    {
        // Two cores, ±10 % noise per tick: a window's samples/s vary by several percent, and nothing pays past 2 workers.
        var pipeline = new SimulatedPipeline(Limits(), seed) { WorkPerSample = 0.000_05, Cores = 2, Noise = 0.10 };
        var workers = new List<int>();
        var log = new DecisionLog(pipeline);
        pipeline.Run(120, () =>
        {
            workers.Add(pipeline.Tuner.Workers);
            log.Take();
        });

        Assert.True(workers.Count(w => w == 2) >= 0.85 * workers.Count, $"2 workers only {workers.Count(w => w == 2)} of {workers.Count} ticks; {pipeline.Tuner.Status}");
        Assert.False(log.RetriedWithinCooldown(), $"a move undone and tried again within the cool-down:\n{log}");

        // Each knob's cool-down ends after 10, 20, 40 and 60 s, each time a try of 4 and one of 3 (halfway), each a
        // change and its undoing.
        Assert.True(pipeline.Tuner.Status.Changes <= 32, $"{pipeline.Tuner.Status.Changes} changes in 120 s:\n{log}");
    }

    public static TheoryData<int> Seeds { get; } = [.. Enumerable.Range(1, 20)];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Observe_NoisyWorkAndAConsumerThatTakesNoTime_UndoneMovesNotRetriedDuringTheirCooldown(int seed)
    {
        // bench latency on a loaded machine: reads that wait 2 ms but at most 16 at once pay (more share the same
        // capacity), each tick's busy time ±30 %, and a consumer that does nothing but still spends a few noisy
        // microseconds per batch. More than 16 workers do not pay: each such trial is undone, and the values between
        // are searched by halving, not one by one, and not again before the cool-down (10 s, doubling) ends.
        var pipeline = new SimulatedPipeline(Limits(), seed) { WorkPerSample = 0.002, Cores = 16, WorkNoise = 0.3, ConsumerOverhead = 0.000_02, Noise = 0.05 };
        pipeline.Run(10);

        var best = pipeline.RateWith(64);
        var log = new DecisionLog(pipeline);
        var rates = new List<double>();
        pipeline.Run(40, () =>
        {
            log.Take();
            rates.Add(pipeline.RateWith(pipeline.Tuner.Workers) / best);
        });

        Assert.False(log.RetriedWithinCooldown(), $"a move undone and tried again within the cool-down:\n{log}");

        // A search when a cool-down ends: 3 halvings toward the failed worker count, 2 for prefetch.
        Assert.True(log.Undone.Count <= 6, $"{log.Undone.Count} undone moves in 40 s:\n{log}");
        Assert.True(rates.Average() >= 0.9, $"{rates.Average():P0} of the best on average:\n{log}");
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Observe_ReadsThatWaitOnALoadedMachine_GrowDespiteNoisyWindows(int seed)
    {
        // bench latency at a load average of 10 on 2 cores: each tick's samples/s ±20 %, batches delivered whole. A
        // doubling of the workers doubles samples/s, but a short window cannot tell that from the noise. (19 of these
        // 20 seeds are within 10 % of the best within 5 s, the last at 7.9 s.)
        var pipeline = new SimulatedPipeline(Limits(), seed) { WorkPerSample = 0.002, StepPerSample = 1.0 / 16_000, Noise = 0.2, WholeBatches = true };
        var best = pipeline.RateWith(64);
        var log = new DecisionLog(pipeline);
        double? reached = null;
        pipeline.Run(10, () =>
        {
            reached ??= pipeline.RateWith(pipeline.Tuner.Workers) >= 0.9 * best ? pipeline.Seconds : null;
            log.Take();
        });

        Assert.True(reached <= 8, $"within 10 % of the best after {reached?.ToString("F1", System.Globalization.CultureInfo.InvariantCulture) ?? "more than 10"} s:\n{log}");
    }

    [Fact]
    public void Observe_WorkPerSampleFallsAfterMoreWorkersFailed_NotRetriedBeforeTheCooldownEnds()
    {
        // CPU-bound on two cores: more workers were tried and undone. Reads then get 3× cheaper: still CPU-bound, so
        // more workers still would not pay; only more work per sample (or a faster consumer) ends the cool-down early.
        var pipeline = new SimulatedPipeline(Limits()) { WorkPerSample = 0.000_2, Cores = 2 };
        pipeline.Run(6);
        Assert.Equal(2, pipeline.Tuner.Workers);
        Assert.Equal("no_gain", pipeline.Tuner.Status.Reason);

        pipeline.WorkPerSample /= 3;
        var trials = 0;
        pipeline.Run(5, () => trials += pipeline.Tuner.Workers > 2 ? 1 : 0);

        Assert.True(trials == 0, $"{trials} ticks above 2 workers: {pipeline.Tuner.Status}");
    }

    [Fact]
    public void Observe_ConsumerHoldsMoreBatchesThanThePoolSpares_PoolGrowsToLeaveTwo()
    {
        var pipeline = new SimulatedPipeline(Limits()) { WorkPerSample = 0.002, StepPerSample = 1.0 / 1_000 };
        pipeline.Run(10);
        pipeline.HeldByConsumer = pipeline.Tuner.PoolSize;
        pipeline.Tick();

        Assert.Equal(pipeline.HeldByConsumer + 2, pipeline.Tuner.PoolSize);
        Assert.Equal("consumer_holds", pipeline.Tuner.Status.Reason);
    }

    [Fact]
    public void Observe_StarvedWithIdleWorkersAndFixedWorkers_PrefetchGrowsOnlyWhileItPays()
    {
        // Prefetch alone (fixed workers): the model's samples/s do not depend on it, so each doubling is undone.
        var limits = new AutotuneLimits(TuneWorkers: false, TunePrefetch: true, Workers: 4, Prefetch: 2, LoaderOptions.Auto, 1L << 40, MaxWorkers: 4, MaxPrefetch: 32);
        var pipeline = new SimulatedPipeline(limits) { WorkPerSample = 0.002, StepPerSample = 1.0 / 4_000 };
        pipeline.Run(30);

        Assert.Equal(2, pipeline.Tuner.Prefetch);
        Assert.Equal(4, pipeline.Tuner.Workers);
        Assert.Equal("no_gain", pipeline.Tuner.Status.Reason);
    }
}
