using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using StreamingLoader.Batching;
using StreamingLoader.Datasets;
using StreamingLoader.Internal;
using StreamingLoader.Telemetry;

namespace StreamingLoader.Tests.Autotune;

/// <summary>
/// Autotuned loaders on real threads. Timing on a shared machine varies, so these only check what an overwhelming
/// signal must produce (reads that wait 20 ms: more workers than cores), and what must hold whatever the timing:
/// the same batches as a fixed number of workers, memory within the budget, the decisions visible in the metrics.
/// </summary>
public sealed class AutotuneLoaderTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Autotune_ReadsThatWait20Ms_WorkersGrowAboveTheCoreCount()
    {
        var dataset = new WaitingDataset(TestData.Tensor(100_000), TimeSpan.FromMilliseconds(20));
        await using var loader = Pipeline.From(dataset).Build(new LoaderOptions { BatchSize = 4, Workers = LoaderOptions.Auto, Prefetch = LoaderOptions.Auto, Name = "autotune-grow" });
        var clock = Stopwatch.StartNew();
        await foreach (var batch in loader.ReadBatchesAsync(int.MaxValue))
        {
            batch.Dispose();
            if (loader.Autotune!.Workers > Environment.ProcessorCount || clock.Elapsed > Patience)
            {
                break;
            }
        }

        var status = loader.Autotune!;
        Assert.True(status.Workers > Environment.ProcessorCount, $"after {clock.Elapsed.TotalSeconds:F1} s on {Environment.ProcessorCount} cores: {status}");
        Assert.Equal(status.Workers, ((IMetricsSource)loader).StageShapes().Single(s => s.Stage == PipelineStage.Read).Workers);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Autotune_WorkersChangeWhileReading_BatchesIdenticalToFixedWorkers(bool shuffleBuffer)
    {
        // Reads that wait make the tuner add workers during the first epochs; the transform draws from the sample's
        // random stream, the sampler (or the shuffle buffer) shuffles: every batch must be the same as with 3 workers.
        async Task<(List<(long Epoch, long[] Indices, float[] Features, long[] Labels)> Batches, HashSet<int> Workers)> ReadAsync(int workers)
        {
            var options = new LoaderOptions { BatchSize = 8, Workers = workers, Seed = 11, Name = "autotune-order-" + workers };
            var builder = shuffleBuffer
                ? Pipeline.From(Stream(1600, TimeSpan.FromMilliseconds(1)))
                : Pipeline.From<Sample<float, long>>(new WaitingDataset(TestData.Tensor(1600), TimeSpan.FromMilliseconds(1)));
            if (shuffleBuffer)
            {
                options.ShuffleBufferSize = 100;
            }
            else
            {
                options.Shuffle = true;
            }

            await using var loader = builder
                .Transform((sample, context) =>
                {
                    Thread.Sleep(1);
                    var random = context.Random();
                    var x = sample.Features.ToArray();
                    for (var i = 0; i < x.Length; i++)
                    {
                        x[i] += random.NextSingle();
                    }

                    return new Sample<float, long>(x, sample.Label);
                })
                .Build(options);
            var batches = new List<(long, long[], float[], long[])>();
            var seen = new HashSet<int>();
            for (var epoch = 0; epoch < 4; epoch++)
            {
                await foreach (var batch in loader.ReadEpochAsync())
                {
                    using (batch)
                    {
                        batches.Add((batch.Epoch, batch.SampleIndices.ToArray(), batch.Features.AsSpan<float>().ToArray(), batch.Labels.AsSpan<long>().ToArray()));
                        seen.Add(loader.Autotune?.Workers ?? workers);
                    }
                }
            }

            return (batches, seen);
        }

        var (tuned, workersSeen) = await ReadAsync(LoaderOptions.Auto);
        var (fixedWorkers, _) = await ReadAsync(3);

        Assert.True(workersSeen.Count >= 2, $"the worker count never changed while reading: {string.Join(", ", workersSeen)}");
        Assert.Equal(fixedWorkers.Count, tuned.Count);
        for (var i = 0; i < tuned.Count; i++)
        {
            Assert.Equal(fixedWorkers[i].Epoch, tuned[i].Epoch);
            Assert.Equal(fixedWorkers[i].Indices, tuned[i].Indices);
            Assert.Equal(fixedWorkers[i].Labels, tuned[i].Labels);
            Assert.Equal(fixedWorkers[i].Features, tuned[i].Features);
        }
    }

    [Fact]
    public async Task Autotune_MemoryBudget_BatchBuffersNeverAboveIt()
    {
        // Batches of 16 × 256 floats and 16 labels (16,384 + 128 bytes a buffer); a budget of 12 buffers, reads that
        // make the tuner want many more workers than the budget allows.
        var dataset = new WaitingDataset(TestData.Tensor(20_000, features: 256), TimeSpan.FromMilliseconds(2));
        long budget = 0, most = 0;
        await using var loader = Pipeline.From(dataset).Build(new LoaderOptions { BatchSize = 16, Workers = LoaderOptions.Auto, Prefetch = LoaderOptions.Auto, MemoryBudget = (12 * 16_512) + 1_000, Name = "autotune-budget" });
        var pool = ((DataflowLoader<Sample<float, long>, Sample<float, long>>)loader).Pool;
        var clock = Stopwatch.StartNew();
        var reasons = new HashSet<string>();
        await foreach (var batch in loader.ReadBatchesAsync(int.MaxValue))
        {
            budget = loader.Autotune!.MemoryBudget;
            most = Math.Max(most, pool.AllocatedBytes);
            reasons.Add(loader.Autotune.Reason);
            batch.Dispose();
            if (clock.Elapsed > TimeSpan.FromSeconds(8))
            {
                break;
            }
        }

        var status = loader.Autotune!;
        Assert.Equal(16_512, pool.LargestBufferBytes);
        Assert.True(most <= budget, $"{most} bytes of buffers at most, budget {budget}: {status}");
        Assert.True(status.PoolSize <= 12, status.ToString());
        Assert.Contains("starved_busy", reasons);
    }

    [Fact]
    public async Task Autotune_Metrics_ReportWorkersPrefetchMemoryAndTheLastReason()
    {
        var seen = new ConcurrentDictionary<(string Instrument, string? Reason), double>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == LoaderMetrics.MeterName && instrument.Name.StartsWith("streamingloader.autotune.", StringComparison.Ordinal))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? pipeline = null, reason = null;
            foreach (var tag in tags)
            {
                pipeline = tag.Key == LoaderMetrics.PipelineTag ? tag.Value as string : pipeline;
                reason = tag.Key == LoaderMetrics.ReasonTag ? tag.Value as string : reason;
            }

            if (pipeline is "autotune-metrics" or "fixed-metrics")
            {
                seen[(pipeline + " " + instrument.Name, reason)] = value;
            }
        }

        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<int>((i, v, t, _) => Record(i, v, t));
        listener.Start();

        var dataset = new WaitingDataset(TestData.Tensor(100_000), TimeSpan.FromMilliseconds(20));
        await using var loader = Pipeline.From(dataset).Build(new LoaderOptions { BatchSize = 4, Workers = LoaderOptions.Auto, Prefetch = LoaderOptions.Auto, Name = "autotune-metrics" });
        await using var fixedLoader = Pipeline.From(TestData.Tensor(100)).Build(new LoaderOptions { BatchSize = 10, Workers = 3, Prefetch = 5, Name = "fixed-metrics" });
        await TestData.ReadEpochLabelsAsync(fixedLoader);
        var clock = Stopwatch.StartNew();
        await foreach (var batch in loader.ReadBatchesAsync(int.MaxValue))
        {
            batch.Dispose();
            if (loader.Autotune!.Changes > 0 || clock.Elapsed > Patience)
            {
                break;
            }
        }

        var status = loader.Autotune!;
        listener.RecordObservableInstruments();

        Assert.Equal(status.Workers, seen[("autotune-metrics streamingloader.autotune.workers", null)]);
        Assert.Equal(status.Prefetch, seen[("autotune-metrics streamingloader.autotune.prefetch", null)]);
        Assert.Equal(status.Changes, seen[("autotune-metrics streamingloader.autotune.changes", null)]);
        Assert.Equal(status.MemoryBudget, seen[("autotune-metrics streamingloader.autotune.memory_budget", null)]);
        Assert.True(seen[("autotune-metrics streamingloader.autotune.memory", null)] > 0);
        Assert.Equal(1, seen[("autotune-metrics streamingloader.autotune.last_change", status.Reason)]);
        Assert.NotEqual("start", status.Reason);

        Assert.Equal(3, seen[("fixed-metrics streamingloader.autotune.workers", null)]);
        Assert.Equal(5, seen[("fixed-metrics streamingloader.autotune.prefetch", null)]);
        Assert.Equal(1, seen[("fixed-metrics streamingloader.autotune.last_change", "fixed")]);
        Assert.DoesNotContain(seen.Keys, k => k.Instrument == "fixed-metrics streamingloader.autotune.memory_budget");
        Assert.Null(fixedLoader.Autotune);
    }

    private static async IAsyncEnumerable<Sample<float, long>> Stream(int count, TimeSpan wait, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var data = TestData.Tensor(count);
        for (var i = 0; i < count; i++)
        {
            if (i % 64 == 0)
            {
                await Task.Delay(wait, cancellationToken);
            }

            yield return data.GetItem(i);
        }
    }

    /// <summary>A dataset whose reads wait (a network read): the thread sleeps, the CPU is free.</summary>
    private sealed class WaitingDataset(TensorDataset<float, long> inner, TimeSpan wait) : IDataset<Sample<float, long>>
    {
        public int Count => inner.Count;

        public Sample<float, long> GetItem(int index)
        {
            Thread.Sleep(wait);
            return inner.GetItem(index);
        }
    }
}
