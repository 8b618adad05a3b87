using BenchmarkDotNet.Attributes;

namespace StreamingLoader.Benchmarks;

/// <summary>The counter-based generator's draw rate; Mean and Op/s are per value.</summary>
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
public class CounterRandomBenchmarks
{
    private const int Draws = 4096;
    // Instance fields, so the JIT folds neither the key nor the rejection threshold into constants.
    private readonly ulong _seed = 42;
    private readonly int _bound = 200_000;

    [Benchmark(Baseline = true, OperationsPerInvoke = Draws)]
    public ulong NextUInt64()
    {
        var random = new CounterRandom(_seed, 0, 0);
        var sum = 0UL;
        for (var i = 0; i < Draws; i++)
        {
            sum += random.NextUInt64();
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Draws)]
    public int NextInt32()
    {
        var random = new CounterRandom(_seed, 0, 0);
        var bound = _bound;
        var sum = 0;
        for (var i = 0; i < Draws; i++)
        {
            sum += random.NextInt32(bound);
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Draws)]
    public float NextSingle()
    {
        var random = new CounterRandom(_seed, 0, 0);
        var sum = 0f;
        for (var i = 0; i < Draws; i++)
        {
            sum += random.NextSingle();
        }

        return sum;
    }
}
