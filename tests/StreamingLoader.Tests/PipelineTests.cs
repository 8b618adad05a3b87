using System.Threading.Channels;
using StreamingLoader.Batching;
using StreamingLoader.Datasets;

namespace StreamingLoader.Tests;

public class PipelineTests
{
    [Fact]
    public async Task ReadEpochAsync_Sequential_YieldsEverySampleInOrderWithLayout()
    {
        await using var loader = Pipeline.From(TestData.Tensor(1000, features: 3)).Build(new LoaderOptions { BatchSize = 64, Workers = 2 });
        var labels = new List<long>();
        var batches = 0;
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                Assert.Equal(batches++, batch.Index);
                Assert.Equal(0, batch.Epoch);
                Assert.Equal([batch.Count, 3], batch.Features.Shape.ToArray());
                Assert.Equal([batch.Count], batch.Labels.Shape.ToArray());
                Assert.Equal(ElementType.Float32, batch.Features.ElementType);
                Assert.Equal(ElementType.Int64, batch.Labels.ElementType);
                Assert.Equal(0, batch.Features.Pointer % 64);
                Assert.Equal(0, batch.Labels.Pointer % 64);
                var x = batch.Features.AsSpan<float>();
                var y = batch.Labels.AsSpan<long>();
                for (var i = 0; i < batch.Count; i++)
                {
                    Assert.Equal(y[i], batch.SampleIndices[i]);
                    Assert.Equal([y[i] * 1000f, (y[i] * 1000f) + 1, (y[i] * 1000f) + 2], x.Slice(i * 3, 3).ToArray());
                }

                labels.AddRange(y.ToArray());
            }
        }

        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), labels);
        Assert.Equal(16, batches);
        Assert.Equal(16, loader.BatchesPerEpoch);
    }

    [Fact]
    public async Task Epochs_2000SamplesBatch200_TenIterationsPerEpochOnOnePipeline()
    {
        await using var loader = Pipeline.From(TestData.Tensor(2000)).Build(new LoaderOptions { BatchSize = 200, Shuffle = true, Seed = 3 });
        var orders = new List<List<long>>();
        for (var epoch = 0; epoch < 3; epoch++)
        {
            var iterations = 0;
            var labels = new List<long>();
            await foreach (var batch in loader.ReadEpochAsync())
            {
                using (batch)
                {
                    Assert.Equal(epoch, batch.Epoch);
                    Assert.Equal(200, batch.Count);
                    labels.AddRange(batch.Labels.AsSpan<long>().ToArray());
                    iterations++;
                }
            }

            Assert.Equal(10, iterations);
            Assert.Equal(Enumerable.Range(0, 2000).Select(i => (long)i), labels.Order());
            orders.Add(labels);
        }

        Assert.NotEqual(orders[0], orders[1]);
        Assert.Equal(new LoaderState(3, 0, 3, 10, 2000, BatchSize: 200) { Ordering = "dataset, random of 2000, 2000 samples; batches of 200" }, loader.State);
    }

    [Theory]
    [InlineData(false, 3)]
    [InlineData(true, 2)]
    public async Task DropLast_PartialBatch_KeptOrDropped(bool dropLast, int expectedBatches)
    {
        await using var loader = Pipeline.From(TestData.Tensor(10)).Build(new LoaderOptions { BatchSize = 4, DropLast = dropLast });
        var sizes = new List<int>();
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                sizes.Add(batch.Count);
                Assert.Equal(batch.Count, batch.Features.Shape[0]);
            }
        }

        Assert.Equal(expectedBatches, sizes.Count);
        Assert.Equal(dropLast ? [4, 4] : [4, 4, 2], sizes);
    }

    [Fact]
    public async Task ReadEpochsAsync_MultipleEpochs_EpochNumbersAdvance()
    {
        await using var loader = Pipeline.From(TestData.Tensor(10)).Build(new LoaderOptions { BatchSize = 5 });
        var epochs = new List<long>();
        await foreach (var batch in loader.ReadEpochsAsync(3))
        {
            using (batch)
            {
                epochs.Add(batch.Epoch);
            }
        }

        Assert.Equal([0L, 0, 1, 1, 2, 2], epochs);
    }

    [Fact]
    public async Task ReadEpochAsync_LeftEarly_NextReadStartsNextEpoch()
    {
        await using var loader = Pipeline.From(TestData.Tensor(100)).Build(new LoaderOptions { BatchSize = 10 });
        await foreach (var batch in loader.ReadEpochAsync())
        {
            batch.Dispose();
            break;
        }

        var second = new List<long>();
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                second.Add(batch.Epoch);
            }
        }

        Assert.Equal(Enumerable.Repeat(1L, 10), second);
    }

    [Fact]
    public async Task Transform_ChangesSampleType_CustomCollatorWritesLayout()
    {
        await using var loader = Pipeline.From(Dataset.FromFunc(50, i => i))
            .Transform((i, _) => (double)i * 2)
            .Transform((d, _) => d + 1)
            .Build(new DoubleCollator(), new LoaderOptions { BatchSize = 8, Workers = 3 });
        var values = new List<double>();
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                Assert.Equal([batch.Count, 2], batch.Features.Shape.ToArray());
                for (var i = 0; i < batch.Count; i++)
                {
                    values.Add(batch.Features.Sample<double>(i)[0]);
                    Assert.Equal(-batch.Features.Sample<double>(i)[0], batch.Features.Sample<double>(i)[1]);
                }
            }
        }

        Assert.Equal(Enumerable.Range(0, 50).Select(i => (i * 2.0) + 1), values);
    }

    [Fact]
    public async Task TransformAsync_RunsAndKeepsOrder()
    {
        await using var loader = Pipeline.From(TestData.Tensor(200))
            .TransformAsync(async (sample, context, ct) =>
            {
                await Task.Delay(context.Index % 7 == 0 ? 2 : 0, ct);
                return sample;
            })
            .Build(new LoaderOptions { BatchSize = 16, Workers = 4 });
        Assert.Equal(Enumerable.Range(0, 200).Select(i => (long)i), await TestData.ReadEpochLabelsAsync(loader));
    }

    [Fact]
    public async Task Unordered_StillDeliversEverySampleOnce()
    {
        await using var loader = Pipeline.From(TestData.Tensor(500))
            .Transform((s, c) =>
            {
                if (c.Index % 50 == 0)
                {
                    Thread.Sleep(1);
                }

                return s;
            })
            .Build(new LoaderOptions { BatchSize = 10, Workers = 4, Ordered = false });
        Assert.Equal(Enumerable.Range(0, 500).Select(i => (long)i), (await TestData.ReadEpochLabelsAsync(loader)).Order());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(8)]
    public async Task Determinism_SameSeedAnyWorkerCount_IdenticalBatches(int workers)
    {
        static async Task<List<float>> RunAsync(int workers)
        {
            await using var loader = Pipeline.From(TestData.Tensor(777, features: 2))
                .Transform((s, c) =>
                {
                    // Augmentation: random jitter keyed on (seed, epoch, index).
                    var random = c.Random();
                    var x = s.Features.ToArray();
                    x[0] += random.NextSingle();
                    return new Sample<float, long>(x, s.Label);
                })
                .Build(new LoaderOptions { BatchSize = 32, Shuffle = true, Seed = 99, Workers = workers });
            var values = new List<float>();
            await foreach (var batch in loader.ReadEpochsAsync(2))
            {
                using (batch)
                {
                    values.AddRange(batch.Features.AsSpan<float>().ToArray());
                }
            }

            return values;
        }

        Assert.Equal(await RunAsync(1), await RunAsync(workers));
    }

    [Fact]
    public async Task SampleContext_RandomDiffersPerEpochAndIndex()
    {
        var draws = new System.Collections.Concurrent.ConcurrentDictionary<(long Epoch, long Index), ulong>();
        await using var loader = Pipeline.From(Dataset.FromFunc(20, i => i))
            .Transform((i, c) =>
            {
                draws[(c.Epoch, c.Index)] = c.Random().NextUInt64();
                return new Sample<float, long>(new float[1], i);
            })
            .Build(new LoaderOptions { BatchSize = 5 });
        await foreach (var batch in loader.ReadEpochsAsync(2))
        {
            batch.Dispose();
        }

        // The loader reads ahead into epoch 2; look at the two epochs read.
        var read = draws.Where(d => d.Key.Epoch < 2).ToList();
        Assert.Equal(40, read.Count);
        Assert.Equal(40, read.Select(d => d.Value).Distinct().Count());
    }

    [Fact]
    public async Task IterableSources_AsyncEnumerableObservableChannel_EveryItemOnce()
    {
        static Sample<float, long> Make(int i) => new(new[] { (float)i }, i);

        static async IAsyncEnumerable<Sample<float, long>> Stream(int n)
        {
            for (var i = 0; i < n; i++)
            {
                if (i % 100 == 0)
                {
                    await Task.Yield();
                }

                yield return Make(i);
            }
        }

        var options = new LoaderOptions { BatchSize = 32, Workers = 2 };
        await using (var loader = Pipeline.From(Stream(1000)).Build(options))
        {
            Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), await TestData.ReadEpochLabelsAsync(loader));
            Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), await TestData.ReadEpochLabelsAsync(loader));
            Assert.Null(loader.BatchesPerEpoch);
        }

        await using (var loader = Pipeline.From(System.Reactive.Linq.Observable.Select(System.Reactive.Linq.Observable.Range(0, 5000), Make)).Build(options))
        {
            Assert.Equal(Enumerable.Range(0, 5000).Select(i => (long)i), await TestData.ReadEpochLabelsAsync(loader));
        }

        var channel = Channel.CreateBounded<Sample<float, long>>(10);
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < 700; i++)
            {
                await channel.Writer.WriteAsync(Make(i));
            }

            channel.Writer.Complete();
        });
        await using (var loader = Pipeline.From(channel.Reader).Build(options))
        {
            Assert.Equal(Enumerable.Range(0, 700).Select(i => (long)i), await TestData.ReadEpochLabelsAsync(loader));
            Assert.Empty(await TestData.ReadEpochLabelsAsync(loader));
            await loader.Completion;
        }

        await writer;
    }

    [Fact]
    public async Task ShuffleBuffer_Stream_PermutationDeterministicPerSeedAndReshuffledPerEpoch()
    {
        static async IAsyncEnumerable<Sample<float, long>> Stream()
        {
            for (var i = 0; i < 1000; i++)
            {
                yield return new Sample<float, long>(new[] { (float)i }, i);
                await Task.CompletedTask;
            }
        }

        async Task<List<long>[]> RunAsync(ulong seed, int workers)
        {
            await using var loader = Pipeline.From(Stream()).Build(new LoaderOptions { BatchSize = 50, ShuffleBufferSize = 100, Seed = seed, Workers = workers });
            return [await TestData.ReadEpochLabelsAsync(loader), await TestData.ReadEpochLabelsAsync(loader)];
        }

        var a = await RunAsync(5, 1);
        var b = await RunAsync(5, 4);
        var c = await RunAsync(6, 2);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), a[0].Order());
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), a[1].Order());
        Assert.NotEqual(Enumerable.Range(0, 1000).Select(i => (long)i), a[0]);
        Assert.Equal(a[0], b[0]);
        Assert.Equal(a[1], b[1]);
        Assert.NotEqual(a[0], a[1]);
        Assert.NotEqual(a[0], c[0]);
    }

    [Fact]
    public async Task ForEachAsync_AwaitsHandler_DisposesEachBatch()
    {
        await using var loader = Pipeline.From(TestData.Tensor(100)).Build(new LoaderOptions { BatchSize = 10 });
        var seen = new List<Batch>();
        var inHandler = 0;
        await loader.ForEachAsync(
            async (batch, ct) =>
            {
                Assert.Equal(1, Interlocked.Increment(ref inHandler));
                seen.Add(batch);
                await Task.Delay(1, ct);
                Interlocked.Decrement(ref inHandler);
            },
            epochs: 2);
        Assert.Equal(20, seen.Count);
        await loader.DisposeAsync();
        Assert.Throws<ObjectDisposedException>(() => seen[^1].Features.AsSpan<float>());
    }

    [Fact]
    public void Shuffle_WithSampler_IsRejectedAsInPyTorch()
    {
        var builder = Pipeline.From(TestData.Tensor(10), Sampler.Sequential(10));
        Assert.Throws<ArgumentException>(() => builder.Build(new LoaderOptions { Shuffle = true }));
    }

    [Fact]
    public async Task CustomBatchSampler_BatchesAsGiven()
    {
        await using var loader = Pipeline.From(TestData.Tensor(10), new FixedBatches()).Build(new LoaderOptions { BatchSize = 1 });
        var batches = new List<long[]>();
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                batches.Add(batch.Labels.AsSpan<long>().ToArray());
            }
        }

        Assert.Equal([[9L, 1], [3L], [0L, 4, 5]], batches);
    }

    private sealed class FixedBatches : BatchSampler
    {
        public override int MaxBatchSize => 3;

        public override int BatchesPerEpoch => 3;

        public override IReadOnlyList<ReadOnlyMemory<int>> GetBatches(ulong seed, long epoch) => [new[] { 9, 1 }, new[] { 3 }, new[] { 0, 4, 5 }];
    }

    private sealed class DoubleCollator : Collator<double>
    {
        public override BatchLayout GetLayout(double firstSample) => new(ElementType.Float64, [2], ElementType.Int64, []);

        public override void Write(in double sample, int slot, Batch batch)
        {
            var x = batch.Features.Sample<double>(slot);
            x[0] = sample;
            x[1] = -sample;
            batch.Labels.Sample<long>(slot)[0] = slot;
        }
    }

    [Fact]
    public async Task ReadBatches_AcrossEpochEnds_NextReadContinuesWhereItStopped()
    {
        await using var loader = Pipeline.From(TestData.Tensor(100)).Build(new LoaderOptions { BatchSize = 10 });
        var seen = new List<(long Epoch, int Index)>();
        async Task ReadAsync(IAsyncEnumerable<Batch> batches)
        {
            await foreach (var batch in batches)
            {
                using (batch)
                {
                    seen.Add((batch.Epoch, batch.Index));
                }
            }
        }

        await ReadAsync(loader.ReadBatchesAsync(15));
        await ReadAsync(loader.ReadBatchesAsync(7));
        await ReadAsync(loader.ReadEpochAsync());

        var expected = Enumerable.Range(0, 10).Select(i => (0L, i))
            .Concat(Enumerable.Range(0, 10).Select(i => (1L, i)))
            .Concat(Enumerable.Range(0, 10).Select(i => (2L, i)));
        Assert.Equal(expected, seen);
        Assert.Equal(3, loader.State.Epoch);
    }

    [Fact]
    public async Task ReadBatches_LiveSource_EpochsOfNBatchesContinueTheStream()
    {
        var channel = System.Threading.Channels.Channel.CreateUnbounded<Sample<float, long>>();
        for (var i = 0; i < 95; i++)
        {
            channel.Writer.TryWrite(new Sample<float, long>(new float[] { i }, i));
        }

        channel.Writer.Complete();
        await using var loader = Pipeline.From(channel.Reader).Build(new LoaderOptions { BatchSize = 10 });
        var labels = new List<long>();
        var rounds = 0;
        while (true)
        {
            var before = labels.Count;
            await foreach (var batch in loader.ReadBatchesAsync(3))
            {
                using (batch)
                {
                    labels.AddRange(batch.Labels.AsSpan<long>().ToArray());
                }
            }

            if (labels.Count == before)
            {
                break;
            }

            rounds++;
        }

        Assert.Equal(4, rounds);
        Assert.Equal(Enumerable.Range(0, 95).Select(i => (long)i), labels);
    }
}
