using System.Diagnostics;
using StreamingLoader.Telemetry;
using StreamingLoader.Batching;
using StreamingLoader.Datasets;
using StreamingLoader.Internal;

namespace StreamingLoader.Tests;

/// <summary>
/// The bottleneck rule step by step, and the measurements it rests on: the consumer's wait split into "no batch was
/// ready" and "its continuation waited for a thread", and the source's wait split by what it waited for (the
/// process's CPU budget and run-queue wait: <see cref="ProcessCpuTests"/>).
/// </summary>
public class BottleneckTests
{
    private static readonly BottleneckEvidence Healthy = new()
    {
        ConsumerWaitShare = 0.02,
        ConsumerDispatchShare = 0.001,
        ConsumerSecondsPerSecond = 1,
        CoresAvailable = 4,
        CoresUsed = 1,
        ThreadsWaitingForCpu = 0.1,
        ThreadPoolQueue = 0.2,
        StageUtilisation = new Dictionary<PipelineStage, double> { [PipelineStage.Read] = 0.1, [PipelineStage.Transform] = 0.3, [PipelineStage.Collate] = 0.05 },
        SourceBlockedShare = 0.95,
    };

    public static TheoryData<string, BottleneckKind> Cases => new()
    {
        { "healthy", BottleneckKind.Consumer },
        { "no consumer time", BottleneckKind.None },
        { "cores used", BottleneckKind.Cpu },
        { "threads waiting for a CPU", BottleneckKind.Cpu },
        { "thread-pool queue", BottleneckKind.Cpu },
        { "consumer waited for a thread", BottleneckKind.Cpu },
        { "CPU short while the consumer keeps busy", BottleneckKind.Cpu },
        { "busy transform", BottleneckKind.Stage },
        { "idle stages, source rarely blocked", BottleneckKind.Source },
        { "idle stages, source blocked", BottleneckKind.Unclear },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decide_EachStepOfTheRule_GivesItsKind(string situation, BottleneckKind expected)
    {
        var starving = Healthy with { ConsumerWaitShare = 0.6 };
        var evidence = situation switch
        {
            "healthy" => Healthy,
            "no consumer time" => Healthy with { ConsumerSecondsPerSecond = 0 },
            "cores used" => starving with { CoresUsed = 3.7 },
            "threads waiting for a CPU" => starving with { ThreadsWaitingForCpu = 4.5 },
            "thread-pool queue" => starving with { ThreadPoolQueue = 4.5 },
            "consumer waited for a thread" => starving with { ConsumerDispatchShare = 0.15 },
            "CPU short while the consumer keeps busy" => Healthy with { ThreadsWaitingForCpu = 5 },
            "busy transform" => starving with { StageUtilisation = new Dictionary<PipelineStage, double> { [PipelineStage.Read] = 0.1, [PipelineStage.Transform] = 0.85 } },
            "idle stages, source rarely blocked" => starving with { SourceBlockedShare = 0.2 },
            "idle stages, source blocked" => starving,
            _ => throw new ArgumentOutOfRangeException(nameof(situation)),
        };

        var verdict = BottleneckVerdict.Decide(evidence);

        Assert.Equal(expected, verdict.Kind);
        Assert.Equal(PipelineStage.Transform, verdict.Stage);
        Assert.StartsWith(expected == BottleneckKind.Stage ? "transform:" : expected.ToString().ToLowerInvariant() is "cpu" ? "CPU:" : expected.ToString().ToLowerInvariant() + ":", verdict.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_JustBelowEachThreshold_NotShortOfCpu()
    {
        var below = Healthy with
        {
            CoresUsed = (BottleneckVerdict.CpuUseThreshold * 4) - 0.01,
            ThreadsWaitingForCpu = (BottleneckVerdict.CpuWaitThreshold * 4) - 0.01,
            ThreadPoolQueue = (BottleneckVerdict.ThreadPoolQueueThreshold * 4) - 0.01,
            ConsumerDispatchShare = BottleneckVerdict.DispatchThreshold - 0.001,
        };

        Assert.False(BottleneckVerdict.IsShortOfCpu(below));
        Assert.Equal(BottleneckKind.Consumer, BottleneckVerdict.Decide(below).Kind);
    }

    [Fact]
    public async Task Dispatch_BatchFinishedWhileTheConsumerWaits_TimeAfterItCountsAsWaitingForAThread()
    {
        // The clock moves 5 s as the collate stamps the batch finished (on the worker that armed it, writing the batch's
        // last sample: the stamp is that thread's next reading of the loader's clock), so the consumer's wait is 5 s and all
        // of it comes after the batch was ready: what a continuation stuck behind busy threads sees. Each sample is
        // transformed twice, first to agree the batch layout (on the source's thread), then by the worker.
        var clock = new HandOffClock(TimeSpan.FromSeconds(5));
        using var gate = new SemaphoreSlim(0);
        var calls = new int[4];
        const string name = "dispatch-test";
        await using var loader = Pipeline.From(TestData.Tensor(4))
            .Transform((sample, context) =>
            {
                var call = Interlocked.Increment(ref calls[context.Index]);
                if (context.Index == 0 && call == 2)
                {
                    gate.Wait();
                }

                return sample;
            })
            .Build(new ArmingCollator(Collate.Tensors<float, long>(), armAtSlot: 3), new LoaderOptions { Name = name, BatchSize = 4, Workers = 1, TimeProvider = clock });
        using var profiler = PipelineProfiler.Start(name);

        await using var batches = loader.ReadEpochAsync().GetAsyncEnumerator();
        var next = batches.MoveNextAsync();
        gate.Release();
        Assert.True(await next);
        batches.Current.Dispose();
        var profile = profiler.Snapshot();

        Assert.All(calls, count => Assert.True(count >= 2));
        Assert.Equal(5, profile.ConsumerWaitSeconds, 2);
        Assert.Equal(5, profile.ConsumerDispatchSeconds, 2);
        Assert.Equal(1, profile.Evidence.ConsumerDispatchShare, 2);
    }

    [Fact]
    public async Task Dispatch_BatchReadyBeforeTheConsumerAsks_NoneCounted()
    {
        const string name = "no-dispatch-test";
        await using var loader = Pipeline.From(TestData.Tensor(8)).Build(new LoaderOptions { Name = name, BatchSize = 4, Workers = 1, Prefetch = 2 });
        using var profiler = PipelineProfiler.Start(name);
        await using var batches = loader.ReadEpochAsync().GetAsyncEnumerator();
        Assert.True(await batches.MoveNextAsync());
        var consumed = profiler.Snapshot();

        // The second batch is made while the consumer holds the first: it is ready before it is asked for.
        await WaitUntilAsync(() => QueuedBatches(loader) >= 1);
        batches.Current.Dispose();
        Assert.True(await batches.MoveNextAsync());
        batches.Current.Dispose();

        Assert.Equal(consumed.ConsumerDispatchSeconds, profiler.Snapshot().ConsumerDispatchSeconds);
    }

    [Fact]
    public async Task SourceWait_SlowConsumer_WaitsForTheConsumerNotTheStages()
    {
        // Run until the source has waited 1 s in all: the start (compiling, filling the pool) is a wait for the stages.
        var profile = await ProfileAsync("source-consumer-test", transformDelay: TimeSpan.Zero, stepDelay: TimeSpan.FromMilliseconds(20), p => p.SourceWaitForConsumerSeconds + p.SourceWaitForStagesSeconds > 1);

        Assert.True(profile.SourceWaitForConsumerSeconds > 4 * profile.SourceWaitForStagesSeconds, profile.ToString());
    }

    [Fact]
    public async Task SourceWait_SlowTransform_WaitsForTheStagesNotTheConsumer()
    {
        var profile = await ProfileAsync("source-stages-test", transformDelay: TimeSpan.FromMilliseconds(5), stepDelay: TimeSpan.Zero, p => p.SourceWaitForConsumerSeconds + p.SourceWaitForStagesSeconds > 1);

        Assert.True(profile.SourceWaitForStagesSeconds > 4 * profile.SourceWaitForConsumerSeconds, profile.ToString());
        Assert.True(profile.Evidence.StageUtilisation[PipelineStage.Transform] > BottleneckVerdict.StageBusyThreshold, profile.ToString());
        Assert.True(profile.Evidence.ConsumerWaitShare > 0.9, profile.ToString());
    }

    /// <summary>Reads a pipeline epoch after epoch, with a transform and a step that take the given time, until <paramref name="enough"/> (60 s at most).</summary>
    private static async Task<PipelineProfile> ProfileAsync(string name, TimeSpan transformDelay, TimeSpan stepDelay, Func<PipelineProfile, bool> enough)
    {
        using var profiler = PipelineProfiler.Start(name);
        await using var loader = Pipeline.From(TestData.Tensor(64 * 4))
            .Transform((sample, _) =>
            {
                if (transformDelay > TimeSpan.Zero)
                {
                    Thread.Sleep(transformDelay);
                }

                return sample;
            })
            .Build(new LoaderOptions { Name = name, BatchSize = 4, Workers = 1, Prefetch = 2 });
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            await foreach (var batch in loader.ReadEpochAsync())
            {
                using (batch)
                {
                    if (stepDelay > TimeSpan.Zero)
                    {
                        await Task.Delay(stepDelay);
                    }
                }
            }

            var profile = profiler.Snapshot();
            if (enough(profile) || deadline.Elapsed > TimeSpan.FromSeconds(60))
            {
                return profile;
            }
        }
    }

    private static int QueuedBatches(DataLoader loader) =>
        ((IMetricsSource)loader).QueueDepths().Single(q => q.Stage == PipelineStage.Prefetch).Depth;

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), "condition not met in 30 s");
            await Task.Delay(5);
        }
    }

    /// <summary>
    /// A clock that moves one tick per reading (so readings are ordered), and <see cref="_jump"/> once, right after the
    /// first reading on a thread that called <see cref="ArmOnThisThread"/>.
    /// </summary>
    /// <summary>A collator that arms <see cref="HandOffClock"/> on the worker's thread when it first writes the sample in <c>armAtSlot</c>.</summary>
    private sealed class ArmingCollator(Collator<Sample<float, long>> inner, int armAtSlot) : Collator<Sample<float, long>>
    {
        private int _armed;

        public override BatchLayout GetLayout(Sample<float, long> firstSample) => inner.GetLayout(firstSample);

        public override void Write(in Sample<float, long> sample, int slot, Batch batch)
        {
            inner.Write(sample, slot, batch);
            if (slot == armAtSlot && Interlocked.Exchange(ref _armed, 1) == 0)
            {
                HandOffClock.ArmOnThisThread();
            }
        }
    }

    private sealed class HandOffClock(TimeSpan jump) : TimeProvider
    {
        [ThreadStatic]
        private static bool t_armed;

        private readonly TimeSpan _jump = jump;
        private long _ticks = 1_000_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public static void ArmOnThisThread() => t_armed = true;

        public override long GetTimestamp()
        {
            var now = Interlocked.Increment(ref _ticks);
            if (t_armed)
            {
                t_armed = false;
                Interlocked.Add(ref _ticks, _jump.Ticks);
            }

            return now;
        }
    }
}
