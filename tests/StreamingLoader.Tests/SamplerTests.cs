using System.Runtime.InteropServices;
using FsCheck;
using FsCheck.Fluent;
using StreamingLoader.Datasets;

namespace StreamingLoader.Tests;

public class SamplerTests
{
    [Fact]
    public void RandomWithoutReplacement_AnyCountSeedEpoch_VisitsEveryIndexOnce()
    {
        Prop.ForAll(
            Gen.Choose(0, 3000).ToArbitrary(),
            ArbMap.Default.ArbFor<ulong>(),
            Gen.Choose(0, 50).ToArbitrary(),
            (count, seed, epoch) =>
            {
                var indices = Sampler.Random(count).GetIndices(seed, epoch);
                return indices.Order().SequenceEqual(Enumerable.Range(0, count));
            }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void SubsetRandom_AnySubset_VisitsEachGivenIndexOnce()
    {
        Prop.ForAll(
            ArbMap.Default.ArbFor<int[]>(),
            ArbMap.Default.ArbFor<ulong>(),
            (values, seed) =>
            {
                var subset = values.Select(Math.Abs).Distinct().ToArray();
                var indices = Sampler.SubsetRandom(subset).GetIndices(seed, 3);
                return indices.Order().SequenceEqual(subset.Order());
            }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Random_SameSeedAndEpoch_SameOrder_NewEpochNewOrder()
    {
        var sampler = Sampler.Random(1000);
        Assert.Equal(sampler.GetIndices(42, 0), sampler.GetIndices(42, 0));
        Assert.NotEqual(sampler.GetIndices(42, 0), sampler.GetIndices(42, 1));
        Assert.NotEqual(sampler.GetIndices(42, 0), sampler.GetIndices(43, 0));
    }

    [Fact]
    public void Random_NumSamplesAboveCount_RepeatsWholePermutations()
    {
        var indices = Sampler.Random(10, numSamples: 25).GetIndices(1, 0);
        Assert.Equal(25, indices.Length);
        Assert.Equal(Enumerable.Range(0, 10), indices[..10].Order());
        Assert.Equal(Enumerable.Range(0, 10), indices[10..20].Order());
        Assert.Equal(5, indices[20..].Distinct().Count());
    }

    [Fact]
    public void RandomWithReplacement_DrawsWithinRangeAndRepeats()
    {
        var indices = Sampler.Random(10, replacement: true, numSamples: 1000).GetIndices(5, 0);
        Assert.All(indices, i => Assert.InRange(i, 0, 9));
        Assert.Equal(10, indices.Distinct().Count());
    }

    [Fact]
    public void WeightedRandom_WithReplacement_FollowsWeightsAndNeverDrawsZeroWeight()
    {
        double[] weights = [1, 0, 3, 0];
        var indices = Sampler.WeightedRandom(weights, 40_000).GetIndices(9, 0);
        Assert.DoesNotContain(1, indices);
        Assert.DoesNotContain(3, indices);
        var share = indices.Count(i => i == 2) / 40_000.0;
        Assert.InRange(share, 0.73, 0.77);
    }

    [Fact]
    public void WeightedRandom_AnyWeights_NeverDrawsAZeroWeight()
    {
        Prop.ForAll(
            ArbMap.Default.ArbFor<int[]>(),
            ArbMap.Default.ArbFor<ulong>(),
            (raw, seed) =>
            {
                var weights = raw.Select(w => (double)Math.Max(0, w % 5)).Append(1).ToArray();
                var indices = Sampler.WeightedRandom(weights, 500).GetIndices(seed, 0);
                return indices.All(i => weights[i] > 0);
            }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void WeightedRandom_WithoutReplacement_DrawsDistinctPositiveIndices()
    {
        var indices = Sampler.WeightedRandom([5, 0, 1, 1, 2], 4, replacement: false).GetIndices(3, 0);
        Assert.Equal(4, indices.Distinct().Count());
        Assert.DoesNotContain(1, indices);
    }

    [Fact]
    public void WeightedRandom_BadWeights_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Sampler.WeightedRandom([1, -1], 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sampler.WeightedRandom([1, double.NaN], 2));
        Assert.Throws<ArgumentException>(() => Sampler.WeightedRandom([0, 0], 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sampler.WeightedRandom([1, 0], 2, replacement: false));
    }

    // Expected values printed by PyTorch 1.13's torch.utils.data.DistributedSampler(shuffle=False) on Debian's python3-torch.
    [Theory]
    [InlineData(10, 3, false, "0,3,6,9;1,4,7,0;2,5,8,1")]
    [InlineData(10, 3, true, "0,3,6;1,4,7;2,5,8")]
    [InlineData(7, 4, false, "0,4;1,5;2,6;3,0")]
    [InlineData(7, 4, true, "0;1;2;3")]
    [InlineData(2, 5, false, "0;1;0;1;0")]
    [InlineData(13, 2, false, "0,2,4,6,8,10,12;1,3,5,7,9,11,0")]
    [InlineData(13, 2, true, "0,2,4,6,8,10;1,3,5,7,9,11")]
    [InlineData(16, 4, false, "0,4,8,12;1,5,9,13;2,6,10,14;3,7,11,15")]
    [InlineData(5, 8, false, "0;1;2;3;4;0;1;2")]
    public void Distributed_NoShuffle_EqualsPyTorchExactly(int count, int worldSize, bool dropLast, string expected)
    {
        var ranks = expected.Split(';').Select(r => r.Split(',').Select(int.Parse).ToArray()).ToArray();
        for (var rank = 0; rank < worldSize; rank++)
        {
            Assert.Equal(ranks[rank], Sampler.Distributed(count, rank, worldSize, shuffle: false, dropLast: dropLast).GetIndices(0, 0));
        }
    }

    [Fact]
    public void Distributed_Shuffled_RanksDisjointAndCovering()
    {
        Prop.ForAll(
            Gen.Choose(1, 500).ToArbitrary(),
            Gen.Choose(1, 9).ToArbitrary(),
            ArbMap.Default.ArbFor<bool>(),
            (count, worldSize, dropLast) =>
            {
                var ranks = Enumerable.Range(0, worldSize)
                    .Select(r => Sampler.Distributed(count, r, worldSize, shuffle: true, dropLast: dropLast).GetIndices(11, 2))
                    .ToArray();
                var all = ranks.SelectMany(r => r).ToArray();
                var sameLength = ranks.All(r => r.Length == ranks[0].Length);
                if (dropLast)
                {
                    // Truncated: no index twice, at most worldSize - 1 left out.
                    return sameLength && all.Distinct().Count() == all.Length && count - all.Length < worldSize;
                }

                // Padded: every index at least once, and only the padding repeats.
                return sameLength && all.Distinct().Count() == count && all.Length - count < worldSize + count;
            }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Distributed_BadRank_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Sampler.Distributed(10, 3, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sampler.Distributed(10, -1, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sampler.Distributed(10, 0, 0));
    }

    [Fact]
    public void BatchSampler_ReusedStorageAcrossEpochs_SameBatchesAsFreshOnesAndNoNewArray()
    {
        Sampler[] samplers =
        [
            Sampler.Sequential(103), Sampler.Random(103), Sampler.Random(50, numSamples: 103), Sampler.Random(103, replacement: true),
            Sampler.SubsetRandom([5, 9, 2, 77, 31]), Sampler.WeightedRandom([1, 0, 3, 2], 20), Sampler.Distributed(103, 1, 3),
        ];
        foreach (var sampler in samplers)
        {
            var batchSampler = BatchSampler.Create(sampler, 10, dropLast: false);
            object? storage = null;
            int[]? first = null;
            for (var epoch = 0; epoch < 4; epoch++)
            {
                var reused = batchSampler.GetBatches(7, epoch, ref storage);
                var fresh = batchSampler.GetBatches(7, epoch);
                Assert.Equal(fresh.Count, reused.Count);
                Assert.Equal(fresh.SelectMany(b => b.ToArray()), reused.SelectMany(b => b.ToArray()));
                Assert.True(MemoryMarshal.TryGetArray(reused[0], out var segment));
                first ??= segment.Array;
                Assert.Same(first, segment.Array);
            }
        }
    }

    [Fact]
    public void BatchSampler_DropLast_CountsAndSizes()
    {
        var keep = BatchSampler.Create(Sampler.Sequential(10), 4, dropLast: false);
        var drop = BatchSampler.Create(Sampler.Sequential(10), 4, dropLast: true);
        Assert.Equal([4, 4, 2], keep.GetBatches(0, 0).Select(b => b.Length));
        Assert.Equal([4, 4], drop.GetBatches(0, 0).Select(b => b.Length));
        Assert.Equal(3, keep.BatchesPerEpoch);
        Assert.Equal(2, drop.BatchesPerEpoch);
    }

    [Fact]
    public void CounterRandom_SameKey_SameSequence_AndUnbiasedRange()
    {
        var a = new CounterRandom(1, 2, 3);
        var b = new CounterRandom(1, 2, 3);
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(a.NextUInt64(), b.NextUInt64());
        }

        var c = new CounterRandom(1, 2, 4);
        Assert.NotEqual(new CounterRandom(1, 2, 3).NextUInt64(), c.NextUInt64());
        var counts = new int[3];
        for (var i = 0; i < 30_000; i++)
        {
            counts[c.NextInt32(3)]++;
        }

        Assert.All(counts, n => Assert.InRange(n, 9_500, 10_500));
    }
}
