using StreamingLoader.Datasets;

namespace StreamingLoader.Internal;

/// <summary>One rank's share of a dataset split across processes: <see cref="Sampler.Distributed"/>.</summary>
internal sealed class DistributedSampler : Sampler
{
    private readonly int _count;
    private readonly int _rank;
    private readonly int _worldSize;
    private readonly bool _shuffle;
    private readonly int _numSamples;

    public DistributedSampler(int count, int rank, int worldSize, bool shuffle, bool dropLast)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(worldSize);
        if (rank < 0 || rank >= worldSize)
        {
            throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be in [0, {worldSize - 1}].");
        }

        _count = count;
        _rank = rank;
        _worldSize = worldSize;
        _shuffle = shuffle;

        // The same arithmetic as torch.utils.data.DistributedSampler.__init__.
        _numSamples = dropLast && count % worldSize != 0
            ? (int)Math.Ceiling((count - worldSize) / (double)worldSize)
            : (int)Math.Ceiling(count / (double)worldSize);
        _numSamples = Math.Max(_numSamples, 0);
    }

    internal override string Describe() => $"distributed of {_count}, rank {_rank} of {_worldSize}{(_shuffle ? ", shuffled" : "")}, {_numSamples} samples";

    public override int Length => _numSamples;

    public override int[] GetIndices(ulong seed, long epoch)
    {
        var all = new int[_count];
        for (var i = 0; i < all.Length; i++)
        {
            all[i] = i;
        }

        if (_shuffle)
        {
            // Every rank draws the same permutation: it is keyed on (seed, epoch) only.
            var random = new CounterRandom(seed, epoch, 0, CounterRandom.StreamSampler);
            Permutation.Shuffle(all.AsSpan(), random);
        }

        var result = new int[_numSamples];
        for (var i = 0; i < _numSamples; i++)
        {
            // Position in the padded (or truncated) list; padding repeats the list from its start.
            var position = _rank + (i * _worldSize);
            result[i] = _count == 0 ? 0 : all[position % _count];
        }

        return result;
    }
}
