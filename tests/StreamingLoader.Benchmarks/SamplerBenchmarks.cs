using BenchmarkDotNet.Attributes;
using StreamingLoader.Datasets;

namespace StreamingLoader.Benchmarks;

/// <summary>One epoch's indices over 200 000 samples from each sampler; one operation is one epoch.</summary>
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
public class SamplerBenchmarks
{
    private const int Count = 200_000;
    private const ulong Seed = 42;
    private const long Epoch = 3;

    private Sampler _sequential = null!;
    private Sampler _random = null!;
    private Sampler _randomWithReplacement = null!;
    private Sampler _distributed = null!;
    private Sampler _weighted = null!;
    private Sampler _weightedWithoutReplacement = null!;
    private BatchSampler _batches = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new CounterRandom(Seed, 0, 0);
        var weights = new double[Count];
        for (var i = 0; i < weights.Length; i++)
        {
            weights[i] = 0.01 + random.NextDouble();
        }

        _sequential = Sampler.Sequential(Count);
        _random = Sampler.Random(Count);
        _randomWithReplacement = Sampler.Random(Count, replacement: true);
        _distributed = Sampler.Distributed(Count, rank: 1, worldSize: 4);
        _weighted = Sampler.WeightedRandom(weights, Count);
        _weightedWithoutReplacement = Sampler.WeightedRandom(weights, Count / 10, replacement: false);
        _batches = BatchSampler.Create(Sampler.Random(Count), 256, dropLast: false);
    }

    [Benchmark(Baseline = true, Description = "Sequential(200k)")]
    public int[] Sequential() => _sequential.GetIndices(Seed, Epoch);

    [Benchmark(Description = "Random(200k)")]
    public int[] Random() => _random.GetIndices(Seed, Epoch);

    [Benchmark(Description = "Random(200k, replacement)")]
    public int[] RandomWithReplacement() => _randomWithReplacement.GetIndices(Seed, Epoch);

    [Benchmark(Description = "Distributed(200k, rank 1 of 4)")]
    public int[] Distributed() => _distributed.GetIndices(Seed, Epoch);

    [Benchmark(Description = "WeightedRandom(200k weights, 200k draws)")]
    public int[] WeightedRandom() => _weighted.GetIndices(Seed, Epoch);

    [Benchmark(Description = "WeightedRandom(200k weights, 20k, no replacement)")]
    public int[] WeightedRandomWithoutReplacement() => _weightedWithoutReplacement.GetIndices(Seed, Epoch);

    [Benchmark(Description = "BatchSampler(Random(200k), 256).GetBatches")]
    public IReadOnlyList<ReadOnlyMemory<int>> Batches() => _batches.GetBatches(Seed, Epoch);
}
