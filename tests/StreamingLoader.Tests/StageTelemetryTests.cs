using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using StreamingLoader.Internal;
using StreamingLoader.Telemetry;

namespace StreamingLoader.Tests;

/// <summary>Blocked time counted while a wait is in progress, and the stage shape and error-counter instruments.</summary>
public class StageTelemetryTests
{
    [Fact]
    public void BlockedSeconds_WaitInProgress_CountsUpToNowAndNeverMoreThanWallTime()
    {
        var clock = new ManualClock();
        var counters = new StageCounters();

        var first = counters.StartBlocked(clock);
        clock.Advance(TimeSpan.FromSeconds(3));
        var duringFirst = counters.BlockedSeconds();
        var second = counters.StartBlocked(clock);
        clock.Advance(TimeSpan.FromSeconds(2));
        var duringBoth = counters.BlockedSeconds();
        first.Stop();
        clock.Advance(TimeSpan.FromSeconds(1));
        var afterFirst = counters.BlockedSeconds();
        second.Stop();
        clock.Advance(TimeSpan.FromSeconds(10));
        var afterBoth = counters.BlockedSeconds();

        Assert.Equal(3, duringFirst, 9);
        Assert.Equal(5 + 2, duringBoth, 9); // two waits, 5 s and 2 s so far
        Assert.Equal(5 + 3, afterFirst, 9);
        Assert.Equal(5 + 3, afterBoth, 9); // nothing blocked after the second wait ended
    }

    [Fact]
    public void BlockedSeconds_ReadDuringAndAfterAWait_NeverDecreases()
    {
        var clock = new ManualClock();
        var counters = new StageCounters();
        var readings = new List<double>();

        for (var i = 0; i < 100; i++)
        {
            var wait = counters.StartBlocked(clock);
            clock.Advance(TimeSpan.FromTicks(333 + i));
            readings.Add(counters.BlockedSeconds());
            clock.Advance(TimeSpan.FromTicks(17 * i));
            wait.Stop();
            readings.Add(counters.BlockedSeconds());
        }

        Assert.Equal(readings.Order(), readings);
        Assert.True(readings[^1] > 0);
    }

    [Fact]
    public async Task Instruments_RunningPipeline_ReportWorkersQueueCapacityAndZeroErrorsPerStageToListenersAndProfiler()
    {
        var seen = new ConcurrentDictionary<(string Instrument, string? Stage, string? Policy), double>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == LoaderMetrics.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? pipeline = null, stage = null, policy = null;
            foreach (var tag in tags)
            {
                pipeline = tag.Key == LoaderMetrics.PipelineTag ? tag.Value as string : pipeline;
                stage = tag.Key == LoaderMetrics.StageTag ? tag.Value as string : stage;
                policy = tag.Key == LoaderMetrics.PolicyTag ? tag.Value as string : policy;
            }

            if (pipeline == "shape-test")
            {
                seen[(instrument.Name, stage, policy)] = value;
            }
        }

        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<int>((i, v, t, _) => Record(i, v, t));
        listener.Start();

        using var profiler = PipelineProfiler.Start("shape-test");
        await using var loader = Pipeline.From(TestData.Tensor(1000, features: 4))
            .Transform((s, _) => s)
            .Build(new LoaderOptions { BatchSize = 100, Name = "shape-test", Workers = 3, Prefetch = 5, ShuffleBufferSize = 200 });
        await using var batches = loader.ReadEpochAsync().GetAsyncEnumerator();
        Assert.True(await batches.MoveNextAsync());
        batches.Current.Dispose();
        listener.RecordObservableInstruments();

        Assert.Equal(1, seen[("streamingloader.stage.workers", "source", null)]);
        Assert.Equal(1, seen[("streamingloader.stage.workers", "shuffle", null)]);
        Assert.Equal(3, seen[("streamingloader.stage.workers", "collate", null)]);
        Assert.Equal(5, seen[("streamingloader.stage.queue_capacity", "prefetch", null)]);
        Assert.Equal(6, seen[("streamingloader.stage.queue_capacity", "collate", null)]);
        Assert.False(seen.ContainsKey(("streamingloader.stage.workers", "prefetch", null)));
        Assert.False(seen.ContainsKey(("streamingloader.stage.queue_capacity", "source", null)));
        Assert.Equal(0, seen[("streamingloader.errors", "collate", "fail")]);
        Assert.Equal(0, seen[("streamingloader.errors", "source", "fail")]);
        var profile = profiler.Snapshot();
        Assert.Equal(3, profile.Stages.Single(s => s.Stage == PipelineStage.Collate).Workers);
        Assert.Equal(1, profile.Stages.Single(s => s.Stage == PipelineStage.Shuffle).Workers);
    }

    /// <summary>A clock that moves only when told to.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks = 1_000_000;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}
