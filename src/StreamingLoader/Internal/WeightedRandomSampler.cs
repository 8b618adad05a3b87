using StreamingLoader.Datasets;

namespace StreamingLoader.Internal;

/// <summary>Indices drawn with probability proportional to their weights: <see cref="Sampler.WeightedRandom"/>.</summary>
internal sealed class WeightedRandomSampler : Sampler
{
    private readonly double[] _weights;
    private readonly double[] _probability;
    private readonly int[] _alias;
    private readonly int _numSamples;
    private readonly bool _replacement;

    public WeightedRandomSampler(IReadOnlyList<double> weights, int numSamples, bool replacement)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentOutOfRangeException.ThrowIfNegative(numSamples);
        _weights = [.. weights];
        var total = 0.0;
        var positive = 0;
        for (var i = 0; i < _weights.Length; i++)
        {
            var w = _weights[i];
            if (!double.IsFinite(w) || w < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(weights), $"weights[{i}] = {w}: weights must be finite and ≥ 0.");
            }

            positive += w > 0 ? 1 : 0;
            total += w;
        }

        if (numSamples > 0 && total <= 0)
        {
            throw new ArgumentException("At least one weight must be positive.", nameof(weights));
        }

        if (!replacement && numSamples > positive)
        {
            throw new ArgumentOutOfRangeException(nameof(numSamples), $"Cannot draw {numSamples} samples without replacement from {positive} positive weights.");
        }

        _numSamples = numSamples;
        _replacement = replacement;
        (_probability, _alias) = total > 0 ? BuildAliasTable(_weights, total) : ([], []);
    }

    /// <summary>Vose's alias method: one uniform slot and one coin per draw, whatever the number of weights.</summary>
    private static (double[] Probability, int[] Alias) BuildAliasTable(double[] weights, double total)
    {
        var n = weights.Length;
        var probability = new double[n];
        var alias = new int[n];
        var scaled = weights.Select(w => w * n / total).ToArray();
        var small = new Stack<int>();
        var large = new Stack<int>();
        var anyPositive = Array.FindIndex(weights, w => w > 0);
        for (var i = 0; i < n; i++)
        {
            (scaled[i] < 1 ? small : large).Push(i);
        }

        while (small.Count > 0 && large.Count > 0)
        {
            var less = small.Pop();
            var more = large.Pop();
            probability[less] = scaled[less];
            alias[less] = more;
            scaled[more] = scaled[more] + scaled[less] - 1;
            (scaled[more] < 1 ? small : large).Push(more);
        }

        // What is left is 1 up to rounding; a zero weight left over by rounding must still never be drawn.
        foreach (var i in large.Concat(small))
        {
            probability[i] = weights[i] > 0 ? 1 : 0;
            alias[i] = weights[i] > 0 ? i : anyPositive;
        }

        return (probability, alias);
    }

    internal override string Describe() => $"weighted random of {_weights.Length}, {_numSamples} samples{(_replacement ? ", with replacement" : "")}";

    public override int Length => _numSamples;

    public override int[] GetIndices(ulong seed, long epoch)
    {
        var random = new CounterRandom(seed, epoch, 0, CounterRandom.StreamWeighted);
        var result = new int[_numSamples];
        if (_replacement)
        {
            for (var i = 0; i < result.Length; i++)
            {
                var slot = random.NextInt32(_weights.Length);
                result[i] = random.NextDouble() < _probability[slot] ? slot : _alias[slot];
            }

            return result;
        }

        // Efraimidis–Spirakis: the k largest u^(1/w) are a weighted sample without replacement.
        var keys = new double[_weights.Length];
        var order = new int[_weights.Length];
        for (var i = 0; i < keys.Length; i++)
        {
            order[i] = i;
            keys[i] = _weights[i] > 0 ? -Math.Log(1.0 - random.NextDouble()) / _weights[i] : double.PositiveInfinity;
        }

        Array.Sort(keys, order);
        order.AsSpan(0, _numSamples).CopyTo(result);
        return result;
    }
}
