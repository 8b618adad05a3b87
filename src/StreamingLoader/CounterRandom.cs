using System.Runtime.CompilerServices;

namespace StreamingLoader;

/// <summary>
/// A counter-based random generator: its output is a pure function of (seed, epoch, sample id, stream,
/// counter), so a random decision does not depend on which thread made it or when.
/// </summary>
/// <remarks>
/// Each value is the SplitMix64 finalizer of a key derived from the inputs plus a counter, the construction
/// behind counter-based generators such as Philox and Threefry, with a cheaper mixing function. Transforms get
/// one keyed on their sample through <see cref="SampleContext.Random"/>, so augmentation is reproducible
/// whatever the worker count. It is a reference type so that two helpers handed one generator draw on from the same
/// counter instead of each drawing the same numbers from a copy.
/// </remarks>
public sealed class CounterRandom
{
    internal const ulong StreamTransform = 0;
    internal const ulong StreamSampler = 1;
    internal const ulong StreamShuffleBuffer = 2;
    internal const ulong StreamSplit = 3;
    internal const ulong StreamWeighted = 4;

    private const ulong Golden = 0x9E3779B97F4A7C15UL;
    private readonly ulong _key;
    private ulong _counter;

    /// <summary>Creates a generator keyed on a seed, an epoch, a sample id and a stream number.</summary>
    public CounterRandom(ulong seed, long epoch, long sampleId, ulong stream = StreamTransform)
    {
        var key = Mix(seed ^ 0x243F6A8885A308D3UL);
        key = Mix(key ^ (ulong)epoch);
        key = Mix(key ^ (ulong)sampleId);
        _key = Mix(key ^ stream);
    }

    /// <summary>Gets or sets how many values were drawn (the generator's whole mutable state).</summary>
    public ulong Counter
    {
        get => _counter;
        set => _counter = value;
    }

    /// <summary>Returns 64 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64() => Mix(_key + (++_counter * Golden));

    /// <summary>Returns an integer in [0, <paramref name="maxExclusive"/>), without modulo bias.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int NextInt32(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);

        // Lemire's multiply-shift: unbiased after the rare rejection.
        var range = (ulong)maxExclusive;
        var product = (UInt128)NextUInt64() * range;
        var low = (ulong)product;
        if (low < range)
        {
            var threshold = (0UL - range) % range;
            while (low < threshold)
            {
                product = (UInt128)NextUInt64() * range;
                low = (ulong)product;
            }
        }

        return (int)(ulong)(product >> 64);
    }

    /// <summary>Returns a double in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Returns a float in [0, 1).</summary>
    public float NextSingle() => (NextUInt64() >> 40) * (1.0f / (1U << 24));

    /// <summary>Returns a standard normal value (Box–Muller).</summary>
    public double NextGaussian()
    {
        var u1 = 1.0 - NextDouble();
        var u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
