using StreamingLoader.Shards;

namespace StreamingLoader.Shards.Tests;

/// <summary>The epoch plan alone: how samples are ordered and dealt to ranks, and how a run resumes at another world size.</summary>
public class PlanTests
{
    // 37 units of uneven sizes (one empty): 1,000-odd samples that divide by no world size used here.
    private static readonly int[] Units = [.. Enumerable.Range(0, 37).Select(u => u == 5 ? 0 : 20 + ((u * 7) % 23))];

    private static ShardedBatchSampler Sampler(int rank, int world, int batch = 16, bool dropLast = false, ElasticState? resume = null, int window = 3) =>
        ShardedBatchSampler.Create(Units, new ShardingOptions { World = new World(rank, world), BatchSize = batch, DropLast = dropLast, WindowUnits = window }, resume);

    private static List<int> Read(ShardedBatchSampler sampler, ulong seed, long epoch, int fromBatch = 0, int toBatch = int.MaxValue)
    {
        var batches = sampler.GetBatches(seed, epoch);
        var read = new List<int>();
        for (var b = fromBatch; b < Math.Min(toBatch, batches.Count); b++)
        {
            read.AddRange(batches[b].ToArray());
        }

        return read;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(7)]
    public void GetBatches_AllRanks_UnionIsEverySampleOncePlusPadding(int world)
    {
        var total = Units.Sum();
        var all = new List<int>();
        var batchCounts = new HashSet<int>();
        for (var rank = 0; rank < world; rank++)
        {
            var sampler = Sampler(rank, world);
            var batches = sampler.GetBatches(11, 3);
            batchCounts.Add(batches.Count);
            Assert.Equal(sampler.BatchesPerEpoch, batches.Count);
            all.AddRange(Read(sampler, 11, 3));
        }

        Assert.Single(batchCounts);
        Assert.Equal(Enumerable.Range(0, total), all.Distinct().Order());
        var padding = Sampler(0, world).PaddingPerEpoch;
        Assert.Equal(total + padding, all.Count);
        Assert.Equal((total + world - 1) / world * world - total, padding);
    }

    [Fact]
    public void GetBatches_DropLast_RanksEqualAndNoRepeat()
    {
        var all = new List<int>();
        for (var rank = 0; rank < 4; rank++)
        {
            all.AddRange(Read(Sampler(rank, 4, dropLast: true), 2, 0));
        }

        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Equal(Units.Sum() / 4 * 4, all.Count);
    }

    [Fact]
    public void GetBatches_GlobalOrder_DependsOnSeedAndEpochOnly()
    {
        // Concatenating the ranks' parts gives the same sequence at any world size (up to padding).
        static List<int> Global(int world)
        {
            var order = new List<int>();
            for (var rank = 0; rank < world; rank++)
            {
                order.AddRange(Read(Sampler(rank, world), 5, 2));
            }

            return [.. order.Take(Units.Sum())];
        }

        var one = Global(1);
        Assert.Equal(one, Global(3));
        Assert.Equal(one, Global(8));
        Assert.NotEqual(one, Read(Sampler(0, 1), 5, 3));
        Assert.NotEqual(one, Read(Sampler(0, 1), 6, 2));
        Assert.NotEqual(Enumerable.Range(0, Units.Sum()), one);
    }

    [Fact]
    public void GetBatches_Window_EachBatchTouchesFewUnits()
    {
        // A window of 3 units: a batch of 16 lies in at most two windows, so at most 6 units.
        var starts = new int[Units.Length];
        for (var u = 1; u < Units.Length; u++)
        {
            starts[u] = starts[u - 1] + Units[u - 1];
        }

        int UnitOf(int index) => Array.FindLastIndex(starts, s => s <= index);
        foreach (var batch in Sampler(0, 1).GetBatches(9, 0))
        {
            Assert.InRange(batch.ToArray().Select(UnitOf).Distinct().Count(), 1, 6);
        }
    }

    [Theory]
    [InlineData(4, 2, 5, false)]
    [InlineData(4, 8, 5, false)]
    [InlineData(4, 2, 5, true)]
    [InlineData(4, 8, 3, true)]
    [InlineData(3, 5, 0, false)]
    [InlineData(2, 3, 9, false)]
    public void Checkpoint_ResumedAtAnotherWorldSize_EpochReadExactlyOnce(int before, int after, int batchesRead, bool dropLast)
    {
        const ulong seed = 17;
        const long epoch = 2;
        var read = new List<int>();
        ElasticState? saved = null;
        for (var rank = 0; rank < before; rank++)
        {
            var sampler = Sampler(rank, before, dropLast: dropLast);
            read.AddRange(Read(sampler, seed, epoch, 0, batchesRead));
            var state = new LoaderState(epoch, batchesRead, seed, sampler.BatchesPerEpoch, Units.Sum(), BatchSize: 16);
            var checkpoint = sampler.Checkpoint(state);
            Assert.Equal(saved ?? checkpoint, checkpoint); // every rank saves the same position
            saved = ElasticState.FromJson(checkpoint.ToJson());
        }

        for (var rank = 0; rank < after; rank++)
        {
            var sampler = Sampler(rank, after, dropLast: dropLast, resume: saved);
            var start = sampler.StartState!;
            Assert.Equal((epoch, seed, sampler.BatchesPerEpoch), (start.Epoch, start.Seed, start.BatchesPerEpoch));
            read.AddRange(Read(sampler, seed, epoch, start.NextBatch));
        }

        AssertEpoch(read, dropLast, before, after);
    }

    [Fact]
    public void Checkpoint_ResumedTwice_4To2To8_EpochReadExactlyOnce()
    {
        const ulong seed = 3;
        var read = new List<int>();
        ElasticState? saved = null;
        for (var rank = 0; rank < 4; rank++)
        {
            var sampler = Sampler(rank, 4);
            read.AddRange(Read(sampler, seed, 0, 0, 4));
            saved = sampler.Checkpoint(new LoaderState(0, 4, seed, sampler.BatchesPerEpoch, Units.Sum(), BatchSize: 16));
        }

        ElasticState? second = null;
        for (var rank = 0; rank < 2; rank++)
        {
            var sampler = Sampler(rank, 2, resume: saved);
            var start = sampler.StartState!.NextBatch;
            read.AddRange(Read(sampler, seed, 0, start, start + 3));
            second = sampler.Checkpoint(new LoaderState(0, start + 3, seed, sampler.BatchesPerEpoch, Units.Sum(), BatchSize: 16));
        }

        Assert.Equal([new ElasticSegment(4, 4), new ElasticSegment(2, 3)], second!.Segments);
        for (var rank = 0; rank < 8; rank++)
        {
            var sampler = Sampler(rank, 8, resume: second);
            read.AddRange(Read(sampler, seed, 0, sampler.StartState!.NextBatch));

            // The next epoch is whole again.
            Assert.Equal(sampler.BatchesPerEpoch, sampler.GetBatches(seed, 1).Count(b => b.Length > 0));
        }

        AssertEpoch(read, dropLast: false, 4, 2, 8);
    }

    [Fact]
    public void Create_StateOfOtherData_ErrorNamesTheMismatch()
    {
        var state = new ElasticState(1, 0, 16, Units.Sum() + 1, false, []);
        var error = Assert.Throws<ArgumentException>(() => Sampler(0, 2, resume: state));
        Assert.Contains($"{Units.Sum() + 1} samples", error.Message);
        Assert.Throws<ArgumentException>(() => Sampler(0, 2, resume: new ElasticState(1, 0, 8, Units.Sum(), false, [])));
        Assert.Throws<ArgumentException>(() => Sampler(0, 2, resume: new ElasticState(1, 0, 16, Units.Sum(), false, [new ElasticSegment(4, 999)])));
    }

    [Fact]
    public void Checkpoint_UnorderedStateWithBatchesAhead_Refused()
    {
        var sampler = Sampler(0, 2);
        var state = new LoaderState(0, 2, 1, sampler.BatchesPerEpoch, Units.Sum(), [4], 16);
        Assert.Contains("ordered loader", Assert.Throws<ArgumentException>(() => sampler.Checkpoint(state)).Message);
    }

    /// <summary>Every sample read once, except padding repeats (which each world size may add) and, with DropLast, a tail.</summary>
    private static void AssertEpoch(List<int> read, bool dropLast, params int[] worlds)
    {
        var total = Units.Sum();
        var slack = worlds.Sum();
        var distinct = read.Distinct().Count();
        if (dropLast)
        {
            Assert.Equal(read.Count, distinct);
            Assert.InRange(distinct, total - slack, total);
        }
        else
        {
            Assert.Equal(total, distinct);
            Assert.InRange(read.Count - distinct, 0, slack);
        }
    }
}
