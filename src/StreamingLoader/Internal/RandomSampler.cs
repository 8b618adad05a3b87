using StreamingLoader.Datasets;

namespace StreamingLoader.Internal;

/// <summary>A random order drawn anew each epoch, with or without replacement: <see cref="Sampler.Random"/>.</summary>
internal sealed class RandomSampler : Sampler
{
    private readonly int _count;
    private readonly bool _replacement;
    private readonly int _numSamples;

    public RandomSampler(int count, bool replacement, int numSamples)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegative(numSamples);
        if (count == 0 && numSamples > 0)
        {
            throw new ArgumentOutOfRangeException(nameof(numSamples), "Cannot draw samples from an empty dataset.");
        }

        _count = count;
        _replacement = replacement;
        _numSamples = numSamples;
    }

    internal override string Describe() => $"random of {_count}, {_numSamples} samples{(_replacement ? ", with replacement" : "")}";

    public override int Length => _numSamples;

    public override int[] GetIndices(ulong seed, long epoch) => NewFilled(seed, epoch);

    internal override void FillIndices(ulong seed, long epoch, Span<int> result)
    {
        var random = new CounterRandom(seed, epoch, 0, CounterRandom.StreamSampler);
        if (_replacement)
        {
            for (var i = 0; i < result.Length; i++)
            {
                result[i] = random.NextInt32(_count);
            }

            return;
        }

        // Whole permutations, then the head of one more: PyTorch's RandomSampler without replacement.
        var whole = _numSamples == _count;
        var permutation = whole ? [] : new int[_count];
        for (var offset = 0; offset < _numSamples; offset += _count)
        {
            var target = whole ? result : permutation.AsSpan();
            for (var i = 0; i < _count; i++)
            {
                target[i] = i;
            }

            Permutation.Shuffle(target, random);
            if (!whole)
            {
                permutation.AsSpan(0, Math.Min(_count, _numSamples - offset)).CopyTo(result[offset..]);
            }
        }
    }
}
