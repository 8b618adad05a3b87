using System.Diagnostics;
using System.Reactive.Linq;
using System.Threading.Channels;
using StreamingLoader.Datasets;
using StreamingLoader.Internal;

namespace StreamingLoader.Tests;

/// <summary>
/// The loader's lifetime: every read and every disposal returns promptly whatever the pipeline or user code does,
/// and nothing the loader started outlives it unobserved.
/// </summary>
[Collection(UnobservedTaskGroup.Name)]
public class ShutdownTests
{
    /// <summary>Longer than any healthy shutdown, far shorter than a hang.</summary>
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(10);

    private sealed class FailingDataset(int count, int failAt) : IDataset<Sample<float, long>>
    {
        public int Count => count;

        public Sample<float, long> GetItem(int index) =>
            index == failAt ? throw new InvalidDataException($"sample {index} is corrupt") : new Sample<float, long>(new float[] { index }, index);
    }

    private sealed class BlockingDataset(int count, int blockAt, TimeSpan block) : IDataset<Sample<float, long>>
    {
        public int Count => count;

        public Sample<float, long> GetItem(int index)
        {
            if (index == blockAt)
            {
                Thread.Sleep(block);
            }

            return new Sample<float, long>(new float[] { index }, index);
        }
    }

    public static TheoryData<int> WorkerCounts => [1, 2, 4, 8];

    /// <summary>
    /// The error marker reaches the consumer while later batches wait for room in the full prefetch queue: the
    /// shutdown must not wait for those batches to drain (they used to, for ever, in a few runs out of a hundred).
    /// </summary>
    [Theory]
    [MemberData(nameof(WorkerCounts))]
    public async Task ReadEpoch_SampleFailsUnderFailPolicy_ThrowsAndDisposesPromptly(int workers)
    {
        for (var run = 0; run < 30; run++)
        {
            await RunPromptlyAsync(async () =>
            {
                var loader = Pipeline.From(new FailingDataset(2_000, failAt: 300 + run))
                    .Build(new LoaderOptions { BatchSize = 8, Workers = workers, Prefetch = 2 });
                var error = await Assert.ThrowsAsync<DataLoaderException>(async () =>
                {
                    await foreach (var batch in loader.ReadEpochAsync())
                    {
                        batch.Dispose();
                    }
                });
                Assert.Equal(300 + run, error.SampleIndex);
                await loader.DisposeAsync();
                await Assert.ThrowsAsync<DataLoaderException>(() => loader.Completion);
            });
        }
    }

    [Theory]
    [MemberData(nameof(WorkerCounts))]
    public async Task Dispose_SourceEndedWithPrefetchFull_ReturnsPromptly(int workers)
    {
        for (var run = 0; run < 30; run++)
        {
            await RunPromptlyAsync(async () =>
            {
                var channel = Channel.CreateUnbounded<Sample<float, long>>();
                for (var i = 0; i < 200; i++)
                {
                    channel.Writer.TryWrite(new Sample<float, long>(new float[] { i }, i));
                }

                channel.Writer.Complete();
                var loader = Pipeline.From(channel.Reader).Build(new LoaderOptions { BatchSize = 4, Workers = workers, Prefetch = 2 });
                await foreach (var batch in loader.ReadEpochAsync())
                {
                    batch.Dispose();
                    break;
                }

                await Task.Delay(run % 3);
                await loader.DisposeAsync();
                Assert.True(loader.Completion.IsCompleted);
            });
        }
    }

    [Fact]
    public async Task Dispose_MidEpochAndAfterEpoch_RaisesNoUnobservedTaskException()
    {
        var unobserved = new List<Exception>();
        void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e)
        {
            lock (unobserved)
            {
                unobserved.Add(e.Exception);
            }
        }

        TaskScheduler.UnobservedTaskException += OnUnobserved;
        try
        {
            for (var run = 0; run < 20; run++)
            {
                await using (var loader = Pipeline.From(TestData.Tensor(2_000)).Build(new LoaderOptions { BatchSize = 16, Workers = 2 }))
                {
                    var read = 0;
                    await foreach (var batch in loader.ReadEpochAsync())
                    {
                        batch.Dispose();
                        if (run % 2 == 0 && ++read == 3)
                        {
                            break;
                        }
                    }
                }
            }

            // Unobserved task exceptions are raised when the faulted tasks are finalized.
            for (var i = 0; i < 3; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }

            lock (unobserved)
            {
                Assert.Empty(unobserved);
            }
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= OnUnobserved;
        }
    }

    [Fact]
    public async Task ReadEpoch_CanceledWhileReadBlockedInUserCode_ReturnsPromptly()
    {
        await using var loader = Pipeline.From(new BlockingDataset(1_000, blockAt: 0, TimeSpan.FromSeconds(25)))
            .Build(new LoaderOptions { BatchSize = 8, Workers = 1, ShutdownTimeout = TimeSpan.FromMilliseconds(200) });
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var batch in loader.ReadEpochAsync(cancel.Token))
            {
                batch.Dispose();
            }
        });
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(3));
    }

    [Fact]
    public async Task Dispose_AsyncSourceIgnoresItsToken_ReturnsPromptly()
    {
        static async IAsyncEnumerable<Sample<float, long>> Stuck()
        {
            yield return new Sample<float, long>(new float[] { 0f }, 0);
            await Task.Delay(TimeSpan.FromSeconds(25), CancellationToken.None);
            yield return new Sample<float, long>(new float[] { 1f }, 1);
        }

        var loader = Pipeline.From(Stuck()).Build(new LoaderOptions { BatchSize = 8, ShutdownTimeout = TimeSpan.FromMilliseconds(200) });
        using (var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                await foreach (var batch in loader.ReadEpochAsync(cancel.Token))
                {
                    batch.Dispose();
                }
            });
        }

        var clock = Stopwatch.StartNew();
        await loader.DisposeAsync();
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(3));
        Assert.Contains(loader.AbandonedWork, w => w.Contains("source", StringComparison.Ordinal));
    }

    public static TheoryData<string> SynchronousObservables => ["range", "enumerable"];

    [Theory]
    [MemberData(nameof(SynchronousObservables))]
    public async Task Dispose_SynchronousObservableThatNeverEnds_StopsItsProducer(string kind)
    {
        var pushed = 0L;
        var source = (kind == "range" ? Observable.Range(0, int.MaxValue) : Enumerable.Range(0, int.MaxValue).ToObservable())
            .Select(i =>
            {
                Interlocked.Increment(ref pushed);
                return new Sample<float, long>(new float[] { i }, i);
            });
        var loader = Pipeline.From(source).Build(new LoaderOptions { BatchSize = 16, Workers = 2 });
        await foreach (var batch in loader.ReadEpochAsync())
        {
            batch.Dispose();
            break;
        }

        var clock = Stopwatch.StartNew();
        await loader.DisposeAsync();
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(3));
        var afterDispose = Interlocked.Read(ref pushed);
        await Task.Delay(300);
        Assert.Equal(afterDispose, Interlocked.Read(ref pushed));
        Assert.Empty(loader.AbandonedWork);
    }

    [Fact]
    public async Task AsObservable_OnNextThrows_ErrorReachesTheSubscriberAndReadingStops()
    {
        await using var loader = Pipeline.From(TestData.Tensor(10_000)).Build(new LoaderOptions { BatchSize = 10 });
        var calls = 0;
        var error = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await loader.AsObservable().Do(_ =>
            {
                if (++calls == 3)
                {
                    throw new InvalidOperationException("consumer failed");
                }
            }).LastOrDefaultAsync());
        Assert.Equal("consumer failed", error.Message);

        // Rx cancels the source once Subscribe has returned on the subscribing thread: a few more batches may pass.
        Assert.InRange(calls, 3, 100);
    }

    [Fact]
    public async Task AsObservable_SubscribersOnNextThrowsOnTheThirdBatch_CompletionFaultsWithItAndNothingKeepsRunning()
    {
        var loader = (DataflowLoader<Sample<float, long>, Sample<float, long>>)Pipeline.From(TestData.Tensor(10_000))
            .Build(new LoaderOptions { BatchSize = 10, Workers = 2 });
        var (calls, errors, completions) = (0, 0, 0);
        using var subscription = loader.AsObservable().Subscribe(
            _ =>
            {
                if (Interlocked.Increment(ref calls) == 3)
                {
                    throw new InvalidOperationException("consumer failed on batch 3");
                }
            },
            _ => Interlocked.Increment(ref errors),
            () => Interlocked.Increment(ref completions));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => loader.Completion.WaitAsync(Prompt));
        Assert.Equal("consumer failed on batch 3", error.Message);

        // Every task of the pipeline ends by itself, before any disposal; the observer got no fourth batch and, as
        // Rx's contract has it for an observer's own exception, neither OnError nor OnCompleted.
        await Task.WhenAny(Task.WhenAll(loader.InternalTasks)).WaitAsync(Prompt);
        Assert.All(loader.InternalTasks, task => Assert.True(task.IsCompleted));
        Assert.Equal((3, 0, 0), (calls, errors, completions));
        await loader.DisposeAsync();
        Assert.Empty(loader.AbandonedWork);
    }

    [Fact]
    public async Task AsObservable_SubscriptionDisposed_LoaderStaysUsable()
    {
        await using var loader = Pipeline.From(TestData.Tensor(100)).Build(new LoaderOptions { BatchSize = 10 });
        var first = new TaskCompletionSource();
        var subscription = loader.AsObservable().Subscribe(_ => first.TrySetResult());
        await first.Task.WaitAsync(Prompt);
        subscription.Dispose();

        var labels = await TestData.ReadEpochLabelsAsync(loader).WaitAsync(Prompt);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), labels);
    }

    [Fact]
    public async Task ReadEpoch_OneReadCanceled_NextReadStartsTheNextEpoch()
    {
        await using var loader = Pipeline.From(TestData.Tensor(100)).Build(new LoaderOptions { BatchSize = 10 });
        using var cancel = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var batch in loader.ReadEpochAsync(cancel.Token))
            {
                batch.Dispose();
                await cancel.CancelAsync();
            }
        });

        Assert.False(loader.Completion.IsCompleted);
        var labels = await TestData.ReadEpochLabelsAsync(loader).WaitAsync(Prompt);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), labels);
        Assert.Equal(2, loader.State.Epoch);
    }

    private static async Task RunPromptlyAsync(Func<Task> run)
    {
        var task = run();
        if (await Task.WhenAny(task, Task.Delay(Prompt)) != task)
        {
            Assert.Fail($"Did not finish within {Prompt.TotalSeconds} s: the loader hung.");
        }

        await task;
    }
}

/// <summary>Tests that watch <see cref="TaskScheduler.UnobservedTaskException"/> run apart from the rest.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class UnobservedTaskGroup
{
    public const string Name = "Unobserved task exceptions";
}
