using StreamingLoader.Datasets;
using StreamingLoader.Batching;
using StreamingLoader.Internal;

namespace StreamingLoader.Tests;

public class ReliabilityTests
{
    private sealed class CountingDataset(int count) : IDataset<Sample<float, long>>
    {
        private int _reads;

        public int Count => count;

        public int Reads => Volatile.Read(ref _reads);

        public Sample<float, long> GetItem(int index)
        {
            Interlocked.Increment(ref _reads);
            return new Sample<float, long>(new[] { (float)index }, index);
        }
    }

    [Fact]
    public async Task Backpressure_ConsumerStops_SourceStopsWithinBound()
    {
        var dataset = new CountingDataset(1_000_000);
        var options = new LoaderOptions { BatchSize = 10, Workers = 2, Prefetch = 2 };
        await using var loader = Pipeline.From(dataset).Build(options);
        await using var reader = loader.ReadEpochAsync().GetAsyncEnumerator();
        Assert.True(await reader.MoveNextAsync());
        reader.Current.Dispose();

        // The source stops (its count stays the same for half a second) ...
        var afterPause = await Eventually.SettlesAsync(() => dataset.Reads, TimeSpan.FromMilliseconds(500), "the samples read while the consumer waits");

        // ... within the pool (prefetch + 2 × workers + 2 = 8 batches) plus the blocks' bounded inputs (2 × workers
        // chunks) and the chunk the source holds: a few hundred samples, not a million.
        var bound = (8 + 4 + 1 + 1) * options.BatchSize;
        Assert.InRange(afterPause, 1, bound);
    }

    [Fact]
    public async Task Observable_NextBatchOnlyAfterOnNextReturns_AndProducerBounded()
    {
        var dataset = new CountingDataset(5_000);
        await using var loader = Pipeline.From(dataset).Build(new LoaderOptions { BatchSize = 10, Workers = 2, Prefetch = 2 });
        var inOnNext = 0;
        var overlaps = 0;
        var maxAhead = 0;
        var received = 0;
        var done = new TaskCompletionSource();
        using var subscription = loader.AsObservable().Subscribe(
            batch =>
            {
                overlaps += Interlocked.Increment(ref inOnNext) == 1 ? 0 : 1;
                received += batch.Count;
                if (received <= 200)
                {
                    Thread.Sleep(5);
                    maxAhead = Math.Max(maxAhead, dataset.Reads - received);
                }

                Interlocked.Decrement(ref inOnNext);
            },
            error => done.TrySetException(error),
            () => done.TrySetResult());
        await done.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, overlaps);
        Assert.Equal(5_000, received);
        Assert.InRange(maxAhead, 0, 14 * 10);
    }

    [Fact]
    public async Task Resume_FromAnyBatch_ConcatenationEqualsUninterruptedRun()
    {
        var dataset = TestData.Tensor(1003);
        var options = new LoaderOptions { BatchSize = 50, Shuffle = true, Seed = 17, Workers = 2 };
        var uninterrupted = new List<long>();
        await using (var loader = Pipeline.From(dataset).Build(options))
        {
            await foreach (var batch in loader.ReadEpochsAsync(3))
            {
                using (batch)
                {
                    uninterrupted.AddRange(batch.Labels.AsSpan<long>().ToArray());
                }
            }
        }

        var random = new Random(5);
        for (var trial = 0; trial < 8; trial++)
        {
            var stopAfter = random.Next(1, 3 * 21);
            var resumed = new List<long>();
            string saved;
            await using (var loader = Pipeline.From(dataset).Build(options))
            {
                var taken = 0;
                await foreach (var batch in loader.ReadEpochsAsync(3))
                {
                    using (batch)
                    {
                        resumed.AddRange(batch.Labels.AsSpan<long>().ToArray());
                    }

                    if (++taken == stopAfter)
                    {
                        break;
                    }
                }

                saved = loader.State.ToJson();
            }

            var state = LoaderState.FromJson(saved);
            await using (var loader = Pipeline.From(dataset).Build(options, state))
            {
                // Finish the interrupted epoch, then the later ones.
                for (var epoch = state.Epoch; epoch < 3; epoch++)
                {
                    resumed.AddRange(await TestData.ReadEpochLabelsAsync(loader));
                }
            }

            Assert.Equal(uninterrupted, resumed);
        }
    }

    [Fact]
    public void Resume_StateFromDifferentConfiguration_Throws()
    {
        var state = new LoaderState(1, 3, 17, 21, 1003);
        var builder = Pipeline.From(TestData.Tensor(1003));
        var error = Assert.Throws<ArgumentException>(() => builder.Build(new LoaderOptions { BatchSize = 64, Seed = 17 }, state));
        Assert.Contains("configured differently", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ThrowingTransform_ConsumerGetsOriginalErrorWithSampleIndex_AfterEarlierBatches()
    {
        var original = new FormatException("bad pixel");
        await using var loader = Pipeline.From(TestData.Tensor(1000))
            .Transform((s, c) => c.Index == 437 ? throw original : s)
            .Build(new LoaderOptions { BatchSize = 10, Workers = 4 });
        var delivered = new List<long>();
        var error = await Assert.ThrowsAsync<DataLoaderException>(async () =>
        {
            await foreach (var batch in loader.ReadEpochAsync())
            {
                using (batch)
                {
                    delivered.AddRange(batch.Labels.AsSpan<long>().ToArray());
                }
            }
        });
        Assert.Same(original, error.InnerException);
        Assert.Equal(437, error.SampleIndex);
        Assert.Equal(PipelineStage.Transform, error.Stage);
        Assert.Contains("sample 437", error.Message, StringComparison.Ordinal);
        Assert.Contains("bad pixel", error.Message, StringComparison.Ordinal);
        Assert.Equal(Enumerable.Range(0, 430).Select(i => (long)i), delivered);
        var completion = await Assert.ThrowsAsync<DataLoaderException>(() => loader.Completion.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Same(error, completion);
        await loader.DisposeAsync();
        Assert.Equal(0, ((DataflowLoader<Sample<float, long>, Sample<float, long>>)loader).Pool.Outstanding);
    }

    [Fact]
    public async Task ThrowingTransform_ObserverGetsOnError()
    {
        await using var loader = Pipeline.From(TestData.Tensor(100))
            .Transform((s, c) => c.Index == 55 ? throw new InvalidOperationException("boom") : s)
            .Build(new LoaderOptions { BatchSize = 10 });
        var done = new TaskCompletionSource<Exception>();
        using var subscription = loader.AsObservable().Subscribe(_ => { }, e => done.TrySetResult(e), () => done.TrySetResult(new InvalidOperationException("completed without error")));
        var error = Assert.IsType<DataLoaderException>(await done.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(55, error.SampleIndex);
        Assert.Equal("boom", error.InnerException!.Message);
    }

    [Fact]
    public async Task ThrowingDatasetRead_ReportsReadStageAndIndex()
    {
        var dataset = Dataset.FromFunc(100, i => i == 77 ? throw new IOException("disk") : new Sample<float, long>(new float[2], i));
        await using var loader = Pipeline.From(dataset).Build(new LoaderOptions { BatchSize = 8 });
        var error = await Assert.ThrowsAsync<DataLoaderException>(() => TestData.ReadEpochLabelsAsync(loader));
        Assert.Equal((PipelineStage.Read, 77L), (error.Stage, error.SampleIndex));
        Assert.IsType<IOException>(error.InnerException);
    }

    [Fact]
    public async Task WrongShapeSample_CollateErrorNamesSampleAndShape()
    {
        var dataset = Dataset.FromFunc(20, i => new Sample<float, long>(new float[i == 13 ? 3 : 4], i));
        await using var loader = Pipeline.From(dataset).Build(new LoaderOptions { BatchSize = 8 });
        var error = await Assert.ThrowsAsync<DataLoaderException>(() => TestData.ReadEpochLabelsAsync(loader));
        Assert.Equal((PipelineStage.Collate, 13L), (error.Stage, error.SampleIndex));
        Assert.Contains("expects 4 ([4])", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SkipPolicy_BadSamplesBecomeDeadLettersAndTheRestArrive()
    {
        await using var loader = Pipeline.From(TestData.Tensor(100))
            .Transform((s, c) => c.Index % 10 == 3 ? throw new InvalidDataException($"corrupt {c.Index}") : s)
            .Build(new LoaderOptions { BatchSize = 10, ErrorPolicy = ErrorPolicy.Skip });
        var labels = await TestData.ReadEpochLabelsAsync(loader);
        Assert.Equal(Enumerable.Range(0, 100).Where(i => i % 10 != 3).Select(i => (long)i), labels);
        // The next epoch is already being read ahead; count this epoch's dead letters.
        var dead = loader.DeadLetters.Where(d => d.Epoch == 0).OrderBy(d => d.SampleIndex).ToList();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (i * 10L) + 3), dead.Select(d => d.SampleIndex));
        Assert.All(dead, d => Assert.Equal(PipelineStage.Transform, d.Stage));
        Assert.Equal("corrupt 3", dead[0].Reason);
    }

    [Fact]
    public async Task SourceThrows_ConsumerGetsErrorWithPosition()
    {
        static async IAsyncEnumerable<Sample<float, long>> Broken()
        {
            for (var i = 0; i < 25; i++)
            {
                yield return new Sample<float, long>(new float[1], i);
            }

            await Task.Yield();
            throw new IOException("connection reset");
        }

        await using var loader = Pipeline.From(Broken()).Build(new LoaderOptions { BatchSize = 10 });
        var error = await Assert.ThrowsAsync<DataLoaderException>(() => TestData.ReadEpochLabelsAsync(loader));
        Assert.Contains("after 25 items", error.Message, StringComparison.Ordinal);
        Assert.IsType<IOException>(error.InnerException);
    }

    [Fact]
    public async Task CancelThenDispose_StopsPromptly_ReturnsEveryBuffer_LeavesNoTaskRunning()
    {
        var dataset = TestData.Tensor(100_000);
        var loader = (DataflowLoader<Sample<float, long>, Sample<float, long>>)Pipeline.From(dataset)
            .Transform((s, _) =>
            {
                Thread.SpinWait(200);
                return s;
            })
            .Build(new LoaderOptions { BatchSize = 32, Workers = 2, Shuffle = true });
        using var cts = new CancellationTokenSource();
        Batch? held = null;
        var read = 0;
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var batch in loader.ReadEpochAsync(cts.Token))
            {
                if (held is null)
                {
                    held = batch;
                }
                else
                {
                    batch.Dispose();
                }

                if (++read == 20)
                {
                    watch.Restart();
                    cts.Cancel();
                }
            }
        });
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"cancellation took {watch.Elapsed}");

        // A canceled read ends that read; disposing stops the loader.
        Assert.False(loader.Completion.IsCompleted);
        watch.Restart();
        await loader.DisposeAsync();
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(2), $"disposal took {watch.Elapsed}");
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => loader.Completion);
        Assert.All(loader.InternalTasks, t => Assert.True(t.IsCompleted));
        Assert.Equal(1, loader.Pool.Outstanding);
        held!.Dispose();
        Assert.Equal(0, loader.Pool.Outstanding);
        Assert.Equal(0, loader.Pool.AllocatedBytes);
    }

    [Fact]
    public async Task CanceledToken_NextBatchNotDelivered_EvenWhenReady()
    {
        await using var loader = Pipeline.From(TestData.Tensor(1000)).Build(new LoaderOptions { BatchSize = 10 });
        using var cts = new CancellationTokenSource();
        await using var reader = loader.ReadEpochAsync(cts.Token).GetAsyncEnumerator();
        Assert.True(await reader.MoveNextAsync());
        reader.Current.Dispose();
        await Eventually.HoldsAsync(() => loader.PrefetchDepth() > 0, "a batch waits in the prefetch queue");
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await reader.MoveNextAsync());
    }

    [Fact]
    public async Task DisposeAsync_MidEpoch_ReturnsBuffersAndIsIdempotent()
    {
        var loader = (DataflowLoader<Sample<float, long>, Sample<float, long>>)Pipeline.From(TestData.Tensor(10_000)).Build(new LoaderOptions { BatchSize = 16 });
        await foreach (var batch in loader.ReadEpochAsync())
        {
            batch.Dispose();
            break;
        }

        await loader.DisposeAsync();
        await loader.DisposeAsync();
        loader.Dispose();
        Assert.Equal(0, loader.Pool.Outstanding);
        Assert.All(loader.InternalTasks, t => Assert.True(t.IsCompleted));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await loader.ReadEpochAsync().GetAsyncEnumerator().MoveNextAsync());
    }

    [Fact]
    public async Task ForgottenDispose_PoolExhausted_ThrowsClearErrorInsteadOfHanging()
    {
        await using var loader = Pipeline.From(TestData.Tensor(10_000)).Build(new LoaderOptions { BatchSize = 10, PoolSize = 3, Workers = 1 });
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var batch in loader.ReadEpochAsync().WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token))
            {
                GC.KeepAlive(batch);
            }
        });
        Assert.Contains("Dispose each batch", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConcurrentReads_Rejected()
    {
        await using var loader = Pipeline.From(TestData.Tensor(100)).Build(new LoaderOptions { BatchSize = 10 });
        await using var first = loader.ReadEpochAsync().GetAsyncEnumerator();
        Assert.True(await first.MoveNextAsync());
        first.Current.Dispose();
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await loader.ReadEpochAsync().GetAsyncEnumerator().MoveNextAsync());
    }
}

public class UnorderedEpochTests
{
    [Fact]
    public async Task Unordered_SlowLastChunkAndSmallPool_EpochsStillEndAndNothingIsLost()
    {
        // The last chunk of each epoch is slow; without care, the next epoch's batches would take every buffer
        // while waiting for their epoch to be read, and the straggler would wait for a buffer forever.
        await using var loader = Pipeline.From(TestData.Tensor(200))
            .Transform((s, c) =>
            {
                if (c.Index == 199)
                {
                    Thread.Sleep(200);
                }

                return s;
            })
            .Build(new LoaderOptions { BatchSize = 10, Workers = 4, PoolSize = 4, Prefetch = 2, Ordered = false });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        for (var epoch = 0; epoch < 3; epoch++)
        {
            var labels = await TestData.ReadEpochLabelsAsync(loader, timeout.Token);
            Assert.Equal(Enumerable.Range(0, 200).Select(i => (long)i), labels.Order());
        }
    }
}
