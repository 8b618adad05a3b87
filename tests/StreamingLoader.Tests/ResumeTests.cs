using StreamingLoader.Datasets;
using StreamingLoader.Internal;

namespace StreamingLoader.Tests;

/// <summary>
/// Resume is exact in every mode that accepts a state: the batches delivered before the save and after the resume
/// together hold every sample of the epoch once, and the dead letters likewise; a mode that cannot resume exactly
/// refuses the state.
/// </summary>
public class ResumeTests
{
    private const int Samples = 1_000;

    public static TheoryData<bool, ErrorPolicy, int> Modes => new()
    {
        { true, ErrorPolicy.Fail, 1 },
        { true, ErrorPolicy.Fail, 4 },
        { false, ErrorPolicy.Fail, 4 },
        { true, ErrorPolicy.Skip, 2 },
        { false, ErrorPolicy.Skip, 4 },
    };

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Resume_RandomSavePoints_EverySampleExactlyOnce(bool ordered, ErrorPolicy policy, int workers)
    {
        var random = new Random(7);
        List<long> uninterrupted;
        await using (var whole = Build(policy, Options(ordered, policy, workers)))
        {
            uninterrupted = await TestData.ReadEpochLabelsAsync(whole);
        }

        for (var trial = 0; trial < 20; trial++)
        {
            var options = Options(ordered, policy, workers);
            var batches = (Samples + 9) / 10;
            var savePoint = random.Next(0, batches);
            var seen = new List<long>();
            var dead = new List<long>();
            LoaderState saved;
            await using (var first = Build(policy, options))
            {
                saved = await ReadAsync(first, savePoint, seen);
                dead.AddRange(first.DeadLetters.Where(d => d.Epoch == 0).Select(d => d.SampleIndex));
            }

            saved = LoaderState.FromJson(saved.ToJson());
            await using (var resumed = Build(policy, options, saved))
            {
                await ReadAsync(resumed, int.MaxValue, seen);
                dead.AddRange(resumed.DeadLetters.Where(d => d.Epoch == 0).Select(d => d.SampleIndex));
                Assert.Equal(1, resumed.State.Epoch);
            }

            var expected = Enumerable.Range(0, Samples).Select(i => (long)i).Where(i => policy == ErrorPolicy.Fail || !Fails(i));
            Assert.Equal(expected, seen.Order());
            Assert.Equal(policy == ErrorPolicy.Skip ? Enumerable.Range(0, Samples).Select(i => (long)i).Where(Fails) : [], dead.Order());
            if (ordered)
            {
                // Not only the same samples: the same sequence as the run never interrupted (the shuffled order).
                Assert.Equal(uninterrupted, seen);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Modes))]
    public async Task Resume_IterableSourceAtRandomSavePoints_ReadsItAnewAndPassesOverWhatWasDelivered(bool ordered, ErrorPolicy policy, int workers)
    {
        // 1,005 samples in batches of 10: drop-last has a partial batch of 5 to drop.
        const int count = Samples + 5;
        var random = new Random(13);
        for (var trial = 0; trial < 20; trial++)
        {
            var dropLast = trial % 2 == 0;
            var options = new LoaderOptions { BatchSize = 10, Ordered = ordered, ErrorPolicy = policy, Workers = workers, DropLast = dropLast };
            var savePoint = random.Next(0, Samples / 10);
            var seen = new List<long>();
            var dead = new List<long>();
            List<long> uninterrupted;
            await using (var whole = BuildStream(policy, options, count: count))
            {
                uninterrupted = await TestData.ReadEpochLabelsAsync(whole);
            }

            LoaderState saved;
            await using (var first = BuildStream(policy, options, count: count))
            {
                saved = await ReadAsync(first, savePoint, seen);
                dead.AddRange(first.DeadLetters.Where(d => d.Epoch == 0).Select(d => d.SampleIndex));
            }

            saved = LoaderState.FromJson(saved.ToJson());
            Assert.Equal((-1, -1, 10), (saved.BatchesPerEpoch, saved.SamplesPerEpoch, saved.BatchSize));
            await using (var resumed = BuildStream(policy, options, saved, count))
            {
                await ReadAsync(resumed, int.MaxValue, seen);
                dead.AddRange(resumed.DeadLetters.Where(d => d.Epoch == 0).Select(d => d.SampleIndex));
                var counted = resumed.Statistics[0];
                Assert.Equal(counted.Read, counted.Delivered + counted.Skipped + counted.Dropped);
                Assert.Equal(dropLast ? 5 : 0, counted.Dropped);
            }

            var all = Enumerable.Range(0, dropLast ? Samples : count).Select(i => (long)i);
            Assert.Equal(all.Where(i => policy == ErrorPolicy.Fail || !Fails(i)), seen.Order());
            Assert.Equal(policy == ErrorPolicy.Skip ? all.Where(Fails) : [], dead.Order());
            Assert.Equal(dropLast ? 100 : 101, (seen.Count + dead.Count + 9) / 10);
            if (ordered)
            {
                Assert.Equal(uninterrupted, seen);
            }
        }
    }

    /// <summary>
    /// Batch 2 is held back in user code while later batches overtake it (unordered): the saved state names the
    /// batches delivered ahead of it, and the resumed loader delivers batch 2 and the rest, none of those again.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Resume_UnorderedWithBatchesDeliveredAheadOfAHeldOne_StateListsThemAndTheUnionIsExact(bool stream)
    {
        const int count = 200, held = 2, ahead = 5;
        using var gate = new ManualResetEventSlim();
        var options = new LoaderOptions { BatchSize = 10, Ordered = false, Workers = 4 };
        DataLoader Make(LoaderState? state, bool hold) =>
            (stream ? Pipeline.From(Stream(count)) : Pipeline.From(TestData.Tensor(count)))
                .Transform((s, c) =>
                {
                    if (hold && c.Index == held * 10)
                    {
                        gate.Wait();
                    }

                    return s;
                })
                .Build(options, state);

        var before = new List<long>();
        LoaderState saved;
        var first = Make(null, hold: true);
        try
        {
            // Until batches 0 and 1 came (any order) and 5 more overtook batch 2.
            await using var reader = first.ReadEpochAsync().GetAsyncEnumerator();
            do
            {
                Assert.True(await reader.MoveNextAsync());
                using var batch = reader.Current;
                before.AddRange(batch.Labels.AsSpan<long>().ToArray());
                saved = first.State;
            }
            while (saved.NextBatch < held || (saved.DeliveredAhead?.Count ?? 0) < ahead);
        }
        finally
        {
            gate.Set();
            await first.DisposeAsync();
        }

        var batchesBefore = before.Select(label => (int)(label / 10)).Distinct().Order().ToList();
        Assert.DoesNotContain(held, batchesBefore);
        Assert.Equal(held, saved.NextBatch);
        Assert.Equal(batchesBefore.Where(b => b > held), saved.DeliveredAhead!.Order());
        // At least `ahead` overtook batch 2: more when batch 0 or 1 came late too (they wait in the list until it does).
        Assert.InRange(saved.DeliveredAhead!.Count, ahead, count / 10);
        Assert.Equal(held + saved.DeliveredAhead.Count, batchesBefore.Count);

        var after = new List<long>();
        await using (var resumed = Make(LoaderState.FromJson(saved.ToJson()), hold: false))
        {
            await ReadAsync(resumed, int.MaxValue, after);
            Assert.Equal(1, resumed.State.Epoch);
        }

        Assert.Empty(before.Intersect(after));
        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), before.Concat(after).Order());
    }

    [Fact]
    public async Task Resume_IterableSourceInALaterEpoch_ContinuesThatEpoch()
    {
        var options = new LoaderOptions { BatchSize = 10, Workers = 2 };
        LoaderState saved;
        var seen = new List<long>();
        await using (var first = BuildStream(ErrorPolicy.Fail, options))
        {
            await ReadAsync(first, int.MaxValue, []);
            saved = await ReadAsync(first, 37, seen);
        }

        Assert.Equal((1L, 37), (saved.Epoch, saved.NextBatch));
        await using var resumed = BuildStream(ErrorPolicy.Fail, options, saved);
        await foreach (var batch in resumed.ReadEpochAsync())
        {
            using (batch)
            {
                Assert.Equal(1, batch.Epoch);
                seen.AddRange(batch.Labels.AsSpan<long>().ToArray());
            }
        }

        Assert.Equal(Enumerable.Range(0, Samples).Select(i => (long)i), seen.Order());
    }

    [Theory]
    [InlineData("channel", "A channel is read once")]
    [InlineData("batch timeout", "With BatchTimeout a stream's batches are cut by time")]
    [InlineData("batch size", "was saved by a loader configured differently")]
    public void Build_IterableResumeThatCannotBeExact_RefusedWithReason(string mode, string reason)
    {
        var state = new LoaderState(0, 3, 0, -1, -1, BatchSize: 10);
        var options = new LoaderOptions
        {
            BatchSize = mode == "batch size" ? 16 : 10,
            BatchTimeout = mode == "batch timeout" ? TimeSpan.FromSeconds(1) : Timeout.InfiniteTimeSpan,
        };
        var builder = mode == "channel"
            ? Pipeline.From(System.Threading.Channels.Channel.CreateUnbounded<Sample<float, long>>().Reader)
            : Pipeline.From(Stream());

        var error = Assert.ThrowsAny<ArgumentException>(() => builder.Build(options, state));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resume_WholeBatchSkipped_PositionCountsSamplerBatches()
    {
        // Batch 2 (samples 20–29) fails entirely: the position still names sampler batches, so nothing repeats.
        var options = new LoaderOptions { BatchSize = 10, ErrorPolicy = ErrorPolicy.Skip, Workers = 1 };
        var dataset = Dataset.FromFunc(100, i => i is >= 20 and < 30 ? throw new InvalidDataException($"bad {i}") : new Sample<float, long>(new float[] { i }, i));
        var seen = new List<long>();
        LoaderState saved;
        await using (var first = Pipeline.From(dataset).Build(options))
        {
            saved = await ReadAsync(first, 3, seen);
            Assert.Equal(4, saved.NextBatch);
        }

        await using var resumed = Pipeline.From(dataset).Build(options, saved);
        await ReadAsync(resumed, int.MaxValue, seen);
        Assert.Equal(Enumerable.Range(0, 100).Where(i => i is < 20 or >= 30).Select(i => (long)i), seen.Order());
    }

    public static TheoryData<bool, bool, ErrorPolicy> ShuffleBufferModes()
    {
        var data = new TheoryData<bool, bool, ErrorPolicy>();
        foreach (var stream in new[] { false, true })
        {
            data.Add(stream, true, ErrorPolicy.Fail);
            data.Add(stream, false, ErrorPolicy.Fail);
            data.Add(stream, true, ErrorPolicy.Skip);
            data.Add(stream, false, ErrorPolicy.Skip);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(ShuffleBufferModes))]
    public async Task Resume_ShuffleBufferAtRandomSavePoints_ReplaysTheEpochAndDeliversExactlyTheRest(bool stream, bool ordered, ErrorPolicy policy)
    {
        var random = new Random(17);
        for (var trial = 0; trial < 12; trial++)
        {
            var options = new LoaderOptions { BatchSize = 10, ShuffleBufferSize = 64, Seed = (ulong)trial, Ordered = ordered, ErrorPolicy = policy, Workers = 3 };
            DataLoader Make(LoaderState? state) => stream ? BuildStream(policy, options, state) : Build(policy, options, state);
            var savePoint = random.Next(0, Samples / 10);
            var seen = new List<long>();
            var dead = new List<long>();
            LoaderState saved;
            List<long> uninterrupted;
            await using (var whole = Make(null))
            {
                uninterrupted = await TestData.ReadEpochLabelsAsync(whole);
            }

            await using (var first = Make(null))
            {
                saved = await ReadAsync(first, savePoint, seen);
                dead.AddRange(first.DeadLetters.Where(d => d.Epoch == 0).Select(d => d.SampleIndex));
            }

            await using (var resumed = Make(LoaderState.FromJson(saved.ToJson())))
            {
                // A save point past the epoch's last batch (skipped samples make fewer batches) saved the next epoch's start.
                var before = seen.Count;
                await ReadAsync(resumed, saved.Epoch == 0 ? int.MaxValue : 0, seen);
                dead.AddRange(resumed.DeadLetters.Where(d => d.Epoch == 0).Select(d => d.SampleIndex));
                if (saved.Epoch == 0)
                {
                    var counted = resumed.Statistics[0];
                    Assert.Equal((long)seen.Count - before, counted.Delivered);
                    Assert.Equal(0, counted.InFlight);
                }
            }

            var all = Enumerable.Range(0, Samples).Select(i => (long)i);
            Assert.Equal(all.Where(i => policy == ErrorPolicy.Fail || !Fails(i)), seen.Order());
            Assert.Equal(policy == ErrorPolicy.Skip ? all.Where(Fails) : [], dead.Order());
            if (ordered)
            {
                // The same batches in the same order as a run never interrupted.
                Assert.Equal(uninterrupted, seen);
            }
        }
    }

    [Fact]
    public void Build_StateWithBatchesAheadOutsideTheEpoch_Refused()
    {
        var state = new LoaderState(0, 3, 0, 10, 100, [5, 12]);
        Assert.Throws<ArgumentOutOfRangeException>(() => Pipeline.From(TestData.Tensor(100)).Build(new LoaderOptions { BatchSize = 10 }, state));
    }

    [Fact]
    public async Task DropLast_IterableSource_LastPartialBatchDropped()
    {
        static async IAsyncEnumerable<Sample<float, long>> Stream()
        {
            for (var i = 0; i < 25; i++)
            {
                await Task.Yield();
                yield return new Sample<float, long>(new float[] { i }, i);
            }
        }

        await using var loader = Pipeline.From(Stream()).Build(new LoaderOptions { BatchSize = 10, DropLast = true });
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (long)i), await TestData.ReadEpochLabelsAsync(loader));
    }

    [Theory]
    [InlineData(1_000_000)]
    [InlineData(int.MaxValue)]
    public async Task BatchSize_FarAboveTheDataset_OneBatchAndBuffersSizedByTheDataset(int batchSize)
    {
        await using var loader = Pipeline.From(TestData.Tensor(10)).Build(new LoaderOptions { BatchSize = batchSize });
        Assert.Equal(1, loader.BatchesPerEpoch);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), await TestData.ReadEpochLabelsAsync(loader));
        var pool = ((DataflowLoader<Sample<float, long>, Sample<float, long>>)loader).Pool;
        Assert.InRange(pool.AllocatedBytes, 1, 64 * 1024);
    }

    [Fact]
    public async Task BatchSize_TooLargeToAllocateOnAStream_ClearError()
    {
        await using var loader = Pipeline.From(AsyncEnumerable.Range(0, 100).Select(i => new Sample<float, long>(new float[64], i)))
            .Build(new LoaderOptions { BatchSize = int.MaxValue });
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestData.ReadEpochLabelsAsync(loader));
        Assert.Contains("lower LoaderOptions.BatchSize", error.Message, StringComparison.Ordinal);
    }

    private static bool Fails(long index) => index % 97 == 5 || index is >= 300 and < 310;

    private static LoaderOptions Options(bool ordered, ErrorPolicy policy, int workers) =>
        new() { BatchSize = 10, Shuffle = true, Seed = 11, Ordered = ordered, ErrorPolicy = policy, Workers = workers };

    private static DataLoader Build(ErrorPolicy policy, LoaderOptions options, LoaderState? resumeFrom = null)
    {
        var dataset = Dataset.FromFunc(Samples, i => policy == ErrorPolicy.Skip && Fails(i) ? throw new InvalidDataException($"bad {i}") : new Sample<float, long>(new float[] { i }, i));
        return Pipeline.From(dataset).Build(options, resumeFrom);
    }

    /// <summary>The samples as a stream that yields the same items in the same order each time it is read.</summary>
    private static async IAsyncEnumerable<Sample<float, long>> Stream(int count = Samples)
    {
        for (var i = 0; i < count; i++)
        {
            if (i % 64 == 0)
            {
                await Task.Yield();
            }

            yield return new Sample<float, long>(new float[] { i }, i);
        }
    }

    private static DataLoader BuildStream(ErrorPolicy policy, LoaderOptions options, LoaderState? resumeFrom = null, int count = Samples) =>
        Pipeline.From(Stream(count))
            .Transform((s, c) => policy == ErrorPolicy.Skip && Fails(c.Index) ? throw new InvalidDataException($"bad {c.Index}") : s)
            .Build(options, resumeFrom);

    /// <summary>Reads up to <paramref name="batches"/> batches of the current epoch, adding their labels; returns the state after them.</summary>
    private static async Task<LoaderState> ReadAsync(DataLoader loader, int batches, List<long> seen)
    {
        if (batches == 0)
        {
            return loader.State;
        }

        var read = 0;
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                seen.AddRange(batch.Labels.AsSpan<long>().ToArray());
            }

            if (++read == batches)
            {
                break;
            }
        }

        return loader.State;
    }
}
