namespace StreamingLoader.Datasets;

/// <summary>
/// Chooses which dataset indices an epoch visits, and in what order (PyTorch's <c>Sampler</c>).
/// </summary>
/// <remarks>
/// A sampler is a pure function of (seed, epoch): the loader passes its <see cref="LoaderOptions.Seed"/>, so the
/// same seed gives the same order on every run and a resumed run can recompute any epoch's order. Subclass it
/// for a custom order; the factories cover PyTorch's built-in samplers.
/// </remarks>
public abstract class Sampler
{
    /// <summary>Gets the number of indices each epoch yields.</summary>
    public abstract int Length { get; }

    /// <summary>Returns the indices of <paramref name="epoch"/>; an array of <see cref="Length"/> elements.</summary>
    public abstract int[] GetIndices(ulong seed, long epoch);

    /// <summary>
    /// Writes the indices of <paramref name="epoch"/> into <paramref name="destination"/> (<see cref="Length"/>
    /// elements): the loader reuses one array for every epoch, where a new one per epoch would be a large object
    /// that only a full collection frees. Built-in samplers write in place; others are copied.
    /// </summary>
    internal virtual void FillIndices(ulong seed, long epoch, Span<int> destination) => GetIndices(seed, epoch).CopyTo(destination);

    /// <summary>What decides the order, for <see cref="LoaderState.Ordering"/>: the kind of sampler and its parameters.</summary>
    internal virtual string Describe() => $"{GetType().FullName} of {Length}";

    /// <summary><see cref="GetIndices"/> for a sampler that implements <see cref="FillIndices"/>.</summary>
    private protected int[] NewFilled(ulong seed, long epoch)
    {
        var result = new int[Length];
        FillIndices(seed, epoch, result);
        return result;
    }

    /// <summary>0, 1, …, count-1 every epoch (PyTorch's <c>SequentialSampler</c>).</summary>
    public static Sampler Sequential(int count) => new SequentialSampler(count);

    /// <summary>
    /// A random order, drawn anew each epoch (PyTorch's <c>RandomSampler</c>). Without replacement every index
    /// appears once per epoch; with <paramref name="numSamples"/> larger than <paramref name="count"/> whole
    /// permutations repeat, as in PyTorch. With replacement each index is drawn uniformly.
    /// </summary>
    public static Sampler Random(int count, bool replacement = false, int? numSamples = null) =>
        new RandomSampler(count, replacement, numSamples ?? count);

    /// <summary>
    /// Draws <paramref name="numSamples"/> indices with probability proportional to <paramref name="weights"/>
    /// (PyTorch's <c>WeightedRandomSampler</c>).
    /// </summary>
    public static Sampler WeightedRandom(IReadOnlyList<double> weights, int numSamples, bool replacement = true) =>
        new WeightedRandomSampler(weights, numSamples, replacement);

    /// <summary>The given indices in a random order each epoch (PyTorch's <c>SubsetRandomSampler</c>).</summary>
    public static Sampler SubsetRandom(IReadOnlyList<int> indices) => new SubsetRandomSampler(indices);

    /// <summary>
    /// This rank's share of a dataset split across <paramref name="worldSize"/> processes (PyTorch's
    /// <c>DistributedSampler</c>): ranks are disjoint and together cover every index, padded by repeating
    /// the first indices unless <paramref name="dropLast"/>; without shuffle the indices equal PyTorch's exactly.
    /// </summary>
    public static Sampler Distributed(int count, int rank, int worldSize, bool shuffle = true, bool dropLast = false) =>
        new DistributedSampler(count, rank, worldSize, shuffle, dropLast);

    private sealed class SequentialSampler : Sampler
    {
        private readonly int _count;

        public SequentialSampler(int count)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(count);
            _count = count;
        }

        internal override string Describe() => $"sequential of {_count}";

        public override int Length => _count;

        public override int[] GetIndices(ulong seed, long epoch) => NewFilled(seed, epoch);

        internal override void FillIndices(ulong seed, long epoch, Span<int> destination)
        {
            for (var i = 0; i < destination.Length; i++)
            {
                destination[i] = i;
            }
        }
    }

    private sealed class RandomSampler : Sampler
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

    private sealed class WeightedRandomSampler : Sampler
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

    private sealed class SubsetRandomSampler : Sampler
    {
        private readonly int[] _indices;

        public SubsetRandomSampler(IReadOnlyList<int> indices)
        {
            ArgumentNullException.ThrowIfNull(indices);
            _indices = [.. indices];
        }

        internal override string Describe() => $"subset random of {_indices.Length}";

        public override int Length => _indices.Length;

        public override int[] GetIndices(ulong seed, long epoch) => NewFilled(seed, epoch);

        internal override void FillIndices(ulong seed, long epoch, Span<int> destination)
        {
            _indices.CopyTo(destination);
            var random = new CounterRandom(seed, epoch, 0, CounterRandom.StreamSampler);
            Permutation.Shuffle(destination, random);
        }
    }

    private sealed class DistributedSampler : Sampler
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
}
