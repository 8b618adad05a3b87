using System.Threading.Channels;
using StreamingLoader.Datasets;

namespace StreamingLoader.Tests;

/// <summary>
/// Every timeout of the loader (<see cref="LoaderOptions.ShutdownTimeout"/>, <see cref="LoaderOptions.StallTimeout"/>,
/// <see cref="LoaderOptions.BatchTimeout"/>) runs on <see cref="LoaderOptions.TimeProvider"/>: on a fake clock each
/// expires exactly when the clock reaches it, however loaded the machine is, and not a tick before.
/// </summary>
public sealed class TimeoutTests
{
    /// <summary>How long a test waits in real time for something the clock already allowed: far longer than needed.</summary>
    private static readonly TimeSpan Real = TimeSpan.FromSeconds(20);

    /// <summary>How long a test watches for something that must not happen yet.</summary>
    private static readonly TimeSpan Glance = TimeSpan.FromMilliseconds(150);

    [Fact]
    public async Task Dispose_UserCodeStuck_TakesTheShutdownTimeoutOnTheLoadersClockAndReportsHowLong()
    {
        using var stuck = new StuckRead(blockAt: 40);
        var clock = new TestClock();
        var loader = Pipeline.From(stuck.Dataset(1_000))
            .Build(new LoaderOptions { BatchSize = 8, Workers = 2, ShutdownTimeout = TimeSpan.FromSeconds(1), TimeProvider = clock });
        await using (var reader = loader.ReadEpochAsync().GetAsyncEnumerator())
        {
            Assert.True(await reader.MoveNextAsync());
            reader.Current.Dispose();
        }

        await stuck.Entered.WaitAsync(Real);
        var armed = clock.NextTimer(TimeSpan.FromSeconds(1));
        var disposing = loader.DisposeAsync().AsTask();
        await armed.WaitAsync(Real);

        // 999 ms on the loader's clock: disposal still waits for the stuck read.
        clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.NotSame(disposing, await Task.WhenAny(disposing, Task.Delay(Glance)));

        // The last millisecond: it gives up, returns, and says what it left and for how long it had run.
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await disposing.WaitAsync(Real);
        var abandoned = Assert.Single(loader.AbandonedWork);
        Assert.Contains("read of sample 40 (epoch 0), running for 1.0 s", abandoned, StringComparison.Ordinal);
        Assert.True(loader.Completion.IsCanceled);
    }

    [Fact]
    public async Task StallTimeout_ReadStuckInUserCode_FailsExactlyAtTheTimeoutNamingTheSample()
    {
        using var stuck = new StuckRead(blockAt: 40);
        var clock = new TestClock();
        var stall = TimeSpan.FromMilliseconds(300);
        await using var loader = Pipeline.From(stuck.Dataset(1_000))
            .Build(new LoaderOptions { BatchSize = 8, Workers = 2, StallTimeout = stall, ShutdownTimeout = TimeSpan.Zero, TimeProvider = clock });
        await using var reader = loader.ReadEpochAsync().GetAsyncEnumerator();
        for (var batch = 0; batch < 5; batch++)
        {
            Assert.True(await reader.MoveNextAsync().AsTask().WaitAsync(Real));
            reader.Current.Dispose();
        }

        await stuck.Entered.WaitAsync(Real);
        var armed = clock.NextTimer(stall);
        var waiting = reader.MoveNextAsync().AsTask();
        await armed.WaitAsync(Real);

        clock.Advance(stall - TimeSpan.FromMilliseconds(1));
        Assert.NotSame(waiting, await Task.WhenAny(waiting, Task.Delay(Glance)));

        clock.Advance(TimeSpan.FromMilliseconds(1));
        var error = await Assert.ThrowsAsync<DataLoaderException>(() => waiting.WaitAsync(Real));
        Assert.Contains("No batch arrived for 0.3 s", error.Message, StringComparison.Ordinal);
        Assert.Contains("read of sample 40 (epoch 0), running for 0.3 s", error.Message, StringComparison.Ordinal);
        Assert.IsType<TimeoutException>(error.InnerException);
        Assert.Same(error, await Assert.ThrowsAsync<DataLoaderException>(() => loader.Completion));
    }

    [Fact]
    public async Task BatchTimeout_LiveSourceGoesQuiet_PartialBatchDeliveredExactlyAtTheTimeoutThenTheRest()
    {
        var clock = new TestClock();
        var timeout = TimeSpan.FromSeconds(2);
        var channel = Channel.CreateUnbounded<Sample<float, long>>();
        await using var loader = Pipeline.From(channel.Reader).Build(new LoaderOptions { BatchSize = 10, BatchTimeout = timeout, TimeProvider = clock });
        await using var reader = loader.ReadEpochAsync().GetAsyncEnumerator();
        var armed = clock.NextTimer(timeout);
        for (var i = 0; i < 4; i++)
        {
            channel.Writer.TryWrite(new Sample<float, long>(new float[] { i }, i));
        }

        var first = reader.MoveNextAsync().AsTask();
        await armed.WaitAsync(Real);
        clock.Advance(timeout - TimeSpan.FromMilliseconds(1));
        Assert.NotSame(first, await Task.WhenAny(first, Task.Delay(Glance)));

        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await first.WaitAsync(Real));
        Assert.Equal([0L, 1, 2, 3], reader.Current.Labels.AsSpan<long>().ToArray());
        reader.Current.Dispose();

        // A full batch goes out at once, whatever the clock; the end of the source ends the stream.
        for (var i = 4; i < 14; i++)
        {
            channel.Writer.TryWrite(new Sample<float, long>(new float[] { i }, i));
        }

        channel.Writer.Complete();
        Assert.True(await reader.MoveNextAsync().AsTask().WaitAsync(Real));
        Assert.Equal(Enumerable.Range(4, 10).Select(i => (long)i), reader.Current.Labels.AsSpan<long>().ToArray());
        reader.Current.Dispose();
        Assert.False(await reader.MoveNextAsync().AsTask().WaitAsync(Real));
    }

    /// <summary>A dataset whose read of one sample blocks until the test ends (user code that ignores cancellation).</summary>
    private sealed class StuckRead(int blockAt) : IDisposable
    {
        private readonly ManualResetEventSlim _release = new();
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes once the read of the blocking sample has begun.</summary>
        public Task Entered => _entered.Task;

        public IDataset<Sample<float, long>> Dataset(int count) => Datasets.Dataset.FromFunc(count, i =>
        {
            if (i == blockAt)
            {
                _entered.TrySetResult();
                _release.Wait();
            }

            return new Sample<float, long>(new float[] { i }, i);
        });

        public void Dispose()
        {
            _release.Set();
            _release.Dispose();
        }
    }
}
