using System.Runtime.InteropServices;

namespace StreamingLoader;

/// <summary>
/// Where a sample is in the run, given to transforms: its index, its epoch, and a random generator keyed on both
/// and the loader's seed, so augmentation is reproducible whatever the worker count.
/// </summary>
[StructLayout(LayoutKind.Auto)]
public readonly struct SampleContext
{
    private readonly ulong _seed;
    private readonly ulong _stream;

    internal SampleContext(ulong seed, long epoch, long index, ulong stream = 0)
    {
        _seed = seed;
        Epoch = epoch;
        Index = index;
        _stream = stream;
    }

    /// <summary>Gets the epoch, from 0.</summary>
    public long Epoch { get; }

    /// <summary>Gets the dataset index (map-style) or stream position (iterable sources).</summary>
    public long Index { get; }

    /// <summary>Returns a generator keyed on (seed, epoch, index): the same draws every run.</summary>
    public CounterRandom Random() => new(_seed, Epoch, Index, CounterRandom.StreamTransform + (_stream << 8));

    /// <summary>The context for the next transform in a chain, whose draws must differ from this one's.</summary>
    internal SampleContext Next() => new(_seed, Epoch, Index, _stream + 1);
}
