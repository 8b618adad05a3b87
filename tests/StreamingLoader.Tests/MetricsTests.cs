using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using StreamingLoader.Datasets;
using StreamingLoader.Telemetry;

namespace StreamingLoader.Tests;

public class MetricsTests
{
    [Fact]
    public async Task IngestLag_LiveSourceReadBeforeTheConsumerAsks_RecordsTheOldestSamplesAge()
    {
        var lags = new ConcurrentBag<double>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == LoaderMetrics.MeterName && instrument.Name == LoaderMetrics.IngestLagName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == LoaderMetrics.PipelineTag && tag.Value as string == "lag-test")
                {
                    lags.Add(value);
                }
            }
        });
        listener.Start();

        var clock = new TestClock();
        var channel = System.Threading.Channels.Channel.CreateUnbounded<Sample<float, long>>();
        await using var loader = Pipeline.From(channel.Reader).Build(new LoaderOptions { BatchSize = 10, Name = "lag-test", TimeProvider = clock });
        await using var reader = loader.ReadEpochAsync().GetAsyncEnumerator();
        var first = reader.MoveNextAsync();
        for (var i = 0; i < 10; i++)
        {
            channel.Writer.TryWrite(new Sample<float, long>(new float[] { i }, i));
        }

        Assert.True(await first);
        reader.Current.Dispose();

        // The next batch is read now, and delivered only when the consumer asks, 300 ms later on the loader's clock.
        for (var i = 10; i < 20; i++)
        {
            channel.Writer.TryWrite(new Sample<float, long>(new float[] { i }, i));
        }

        channel.Writer.Complete();
        await Eventually.HoldsAsync(() => loader.PrefetchDepth() > 0, "the second batch waits in the prefetch queue");
        clock.Advance(TimeSpan.FromMilliseconds(300));
        Assert.True(await reader.MoveNextAsync());
        reader.Current.Dispose();

        Assert.Equal(2, lags.Count);
        Assert.Equal([0.0, 0.3], lags.Order().Select(lag => Math.Round(lag, 6)));
    }

    [Fact]
    public async Task IngestLag_DatasetBatchesWaitingInThePrefetchQueue_NotRecorded()
    {
        // An evaluation set read between evaluations: its batches wait in a full prefetch queue, which is not lag.
        var lags = new ConcurrentBag<double>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == LoaderMetrics.MeterName && instrument.Name == LoaderMetrics.IngestLagName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == LoaderMetrics.PipelineTag && tag.Value as string == "no-lag-test")
                {
                    lags.Add(value);
                }
            }
        });
        listener.Start();

        await using var loader = Pipeline.From(TestData.Tensor(40)).Build(new LoaderOptions { BatchSize = 10, Name = "no-lag-test", Prefetch = 4 });
        Assert.Equal(40, (await TestData.ReadEpochLabelsAsync(loader)).Count);
        await Task.Delay(300);
        Assert.Equal(40, (await TestData.ReadEpochLabelsAsync(loader)).Count);

        Assert.Empty(lags);
    }

    [Fact]
    public async Task Pipeline_ReportsStageAndConsumerInstrumentsWithItsTags()
    {
        var seen = new ConcurrentDictionary<(string Instrument, string? Stage), double>();
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
            string? pipeline = null, stage = null;
            foreach (var tag in tags)
            {
                pipeline = tag.Key == LoaderMetrics.PipelineTag ? tag.Value as string : pipeline;
                stage = tag.Key == LoaderMetrics.StageTag ? tag.Value as string : stage;
            }

            if (pipeline == "metrics-test")
            {
                seen.AddOrUpdate((instrument.Name, stage), value, (_, total) => total + value);
            }
        }

        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<int>((i, v, t, _) => Record(i, v, t));
        listener.Start();

        await using var loader = Pipeline.From(TestData.Tensor(1000, features: 4))
            .Transform((s, c) => c.Index == 7 ? throw new InvalidDataException("bad") : s)
            .Build(new LoaderOptions { BatchSize = 100, Name = "metrics-test", ErrorPolicy = ErrorPolicy.Skip });
        using var profiler = PipelineProfiler.Start("metrics-test");
        await TestData.ReadEpochLabelsAsync(loader);
        listener.RecordObservableInstruments();

        Assert.Equal(999, seen[("streamingloader.samples", null)]);
        Assert.Equal(10, seen[("streamingloader.batches", null)]);
        Assert.Equal(999 * ((4 * 4) + 8), seen[("streamingloader.bytes", null)]);
        Assert.True(seen[("streamingloader.stage.items_in", "read")] >= 1000);
        Assert.True(seen[("streamingloader.stage.items_in", "transform")] >= 1000);
        Assert.True(seen[("streamingloader.stage.items_in", "collate")] >= 999);
        Assert.True(seen[("streamingloader.errors", "transform")] >= 1);
        Assert.True(seen.ContainsKey(("streamingloader.consumer.wait", null)));
        Assert.True(seen.ContainsKey(("streamingloader.consumer.step", null)));
        Assert.True(seen.ContainsKey(("streamingloader.stage.duration", "collate")));
        Assert.True(seen.ContainsKey(("streamingloader.stage.queue_depth", "read")));
        Assert.True(seen[("streamingloader.pool.capacity", null)] > 0);

        var profile = profiler.Snapshot();
        Assert.Contains(profile.Stages, s => s.Stage == PipelineStage.Transform && s.Items >= 1000);
        Assert.InRange(profile.ConsumerWaitShare, 0, 1);
        Assert.Contains("slowest stage", profile.ToString(), StringComparison.Ordinal);
    }
}
