using StreamingLoader.Datasets;

namespace StreamingLoader.Tests;

/// <summary>
/// <c>Read = Delivered + Skipped + Failed + Dropped</c> once the loader stopped, under every error policy, order,
/// worker count and source kind, and whether it stopped on an error, early or at the end: the whole
/// <see cref="EpochStatistics"/> record is checked, not one field.
/// </summary>
public sealed class AccountingTests
{
    private const int Samples = 2_000;
    private const int BatchSize = 10;

    public static TheoryData<ErrorPolicy, bool, int, bool> Modes()
    {
        var data = new TheoryData<ErrorPolicy, bool, int, bool>();
        foreach (var policy in new[] { ErrorPolicy.Fail, ErrorPolicy.Skip })
        {
            foreach (var ordered in new[] { true, false })
            {
                foreach (var workers in new[] { 1, 4 })
                {
                    data.Add(policy, ordered, workers, false);
                    data.Add(policy, ordered, workers, true);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Statistics_EpochReadUntilItEndsOrFails_EverySampleAccountedForOnceTheLoaderStopped(ErrorPolicy policy, bool ordered, int workers, bool stream)
    {
        var loader = Build(policy, new LoaderOptions { BatchSize = BatchSize, Workers = workers, Ordered = ordered, ErrorPolicy = policy, Prefetch = 4 }, stream);
        var delivered = new List<long>();
        DataLoaderException? error = null;
        await using (loader)
        {
            try
            {
                await foreach (var batch in loader.ReadEpochAsync())
                {
                    using (batch)
                    {
                        delivered.AddRange(batch.Labels.AsSpan<long>().ToArray());
                    }
                }
            }
            catch (DataLoaderException e)
            {
                error = e;
            }
        }

        // The next epoch was being read ahead when the loader stopped: all of it is dropped.
        var statistics = loader.Statistics[0];
        Assert.All(loader.Statistics.Skip(1), next => Assert.Equal(new EpochStatistics(1, next.Read, 0, 0, 0, next.Read, 0, 0), next));
        if (policy == ErrorPolicy.Skip)
        {
            Assert.Null(error);
            var bad = Enumerable.Range(0, Samples).Count(i => Fails(i));
            Assert.Equal(new EpochStatistics(0, Samples, Samples - bad, bad, 0, 0, 0, 0), statistics);
            return;
        }

        // The first bad sample failed the loader: what it had read past the batches delivered is dropped.
        Assert.Equal(FirstBad, Assert.IsType<DataLoaderException>(error).SampleIndex);
        var read = statistics.Read;
        Assert.Equal(new EpochStatistics(0, read, delivered.Count, 0, 1, read - delivered.Count - 1, 0, 0), statistics);
        Assert.Equal(0, statistics.InFlight);
        Assert.InRange(read, delivered.Count + 1, Samples);
        if (ordered)
        {
            Assert.Equal(Enumerable.Range(0, FirstBad / BatchSize * BatchSize).Select(i => (long)i), delivered);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Statistics_LoaderDisposedMidEpoch_WhatItReadAheadIsDropped(bool stream)
    {
        var loader = Build(ErrorPolicy.Fail, new LoaderOptions { BatchSize = BatchSize, Workers = 2 }, stream, bad: false);
        var delivered = 0;
        await using (loader)
        {
            await foreach (var batch in loader.ReadEpochAsync())
            {
                delivered += batch.Count;
                batch.Dispose();
                if (delivered == 3 * BatchSize)
                {
                    break;
                }
            }
        }

        var statistics = Assert.Single(loader.Statistics);
        Assert.Equal(new EpochStatistics(0, statistics.Read, 3 * BatchSize, 0, 0, statistics.Read - (3 * BatchSize), 0, 0), statistics);
        Assert.InRange(statistics.Read, (3 * BatchSize) + 1, Samples);
    }

    [Fact]
    public async Task Statistics_LoaderFailedAndNotDisposed_SettleOnceItsStagesEnded()
    {
        await using var loader = Build(ErrorPolicy.Fail, new LoaderOptions { BatchSize = BatchSize, Workers = 4 }, stream: false);
        await Assert.ThrowsAsync<DataLoaderException>(() => TestData.ReadEpochLabelsAsync(loader));
        await Assert.ThrowsAsync<DataLoaderException>(() => loader.Completion);

        // The stages stop by themselves after the error; the statistics close once they have.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (loader.Statistics[0].InFlight != 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        var statistics = loader.Statistics[0];
        Assert.Equal(new EpochStatistics(0, statistics.Read, FirstBad / BatchSize * BatchSize, 0, 1, statistics.Read - (FirstBad / BatchSize * BatchSize) - 1, 0, 0), statistics);
    }

    private const int FirstBad = 437;

    private static bool Fails(long index) => index == FirstBad || index % 101 == 50;

    private static DataLoader Build(ErrorPolicy policy, LoaderOptions options, bool stream, bool bad = true)
    {
        var data = TestData.Tensor(Samples);
        var builder = stream
            ? Pipeline.From(Enumerable.Range(0, Samples).Select(data.GetItem).ToAsyncEnumerable())
            : Pipeline.From(data);

        // Under Fail only the first bad sample is bad, so exactly one sample fails whatever the workers do.
        return builder
            .Transform((s, c) => bad && (policy == ErrorPolicy.Skip ? Fails(c.Index) : c.Index == FirstBad) ? throw new InvalidDataException($"bad {c.Index}") : s)
            .Build(options);
    }
}
