namespace StreamingLoader.Datasets;

/// <summary>
/// Groups an epoch's indices into batches (PyTorch's <c>BatchSampler</c>). The loader makes one from its sampler,
/// <see cref="LoaderOptions.BatchSize"/> and <see cref="LoaderOptions.DropLast"/>; subclass it for batches of
/// your own making, such as buckets of similar-length sequences.
/// </summary>
public abstract class BatchSampler
{
    /// <summary>Gets the largest batch this sampler yields, which sizes the batch buffers.</summary>
    public abstract int MaxBatchSize { get; }

    /// <summary>Gets the number of batches per epoch.</summary>
    public abstract int BatchesPerEpoch { get; }

    /// <summary>Returns the batches of <paramref name="epoch"/>, each a list of dataset indices.</summary>
    public abstract IReadOnlyList<ReadOnlyMemory<int>> GetBatches(ulong seed, long epoch);

    /// <summary>
    /// <see cref="GetBatches(ulong, long)"/>, reusing <paramref name="storage"/> (null at first) from the previous epoch's call
    /// where the batch sampler can: the loader asks for one epoch at a time and is done with the last one by then.
    /// </summary>
    internal virtual IReadOnlyList<ReadOnlyMemory<int>> GetBatches(ulong seed, long epoch, ref object? storage) => GetBatches(seed, epoch);

    /// <summary>What decides the batches, for <see cref="LoaderState.Ordering"/>.</summary>
    internal virtual string Describe() => $"{GetType().FullName}, {BatchesPerEpoch} batches";

    /// <summary>Batches of <paramref name="batchSize"/> consecutive indices from <paramref name="sampler"/>.</summary>
    public static BatchSampler Create(Sampler sampler, int batchSize, bool dropLast) => new FixedSizeBatchSampler(sampler, batchSize, dropLast);

    private sealed class FixedSizeBatchSampler : BatchSampler
    {
        private readonly Sampler _sampler;
        private readonly int _batchSize;
        private readonly bool _dropLast;

        public FixedSizeBatchSampler(Sampler sampler, int batchSize, bool dropLast)
        {
            ArgumentNullException.ThrowIfNull(sampler);
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
            _sampler = sampler;
            _batchSize = batchSize;
            _dropLast = dropLast;
        }

        internal override string Describe() => $"{_sampler.Describe()}; batches of {_batchSize}{(_dropLast ? ", drop last" : "")}";

        // No batch holds more samples than an epoch has: a batch size far above the dataset's reserves no more.
        public override int MaxBatchSize => Math.Max(1, Math.Min(_batchSize, _sampler.Length));

        // In long: a batch size near int.MaxValue must not overflow to a negative (empty) epoch.
        public override int BatchesPerEpoch => (int)(_dropLast
            ? _sampler.Length / (long)_batchSize
            : (_sampler.Length + (long)_batchSize - 1) / _batchSize);

        public override IReadOnlyList<ReadOnlyMemory<int>> GetBatches(ulong seed, long epoch) =>
            new ConsecutiveBatches(_sampler.GetIndices(seed, epoch), _batchSize, BatchesPerEpoch);

        internal override IReadOnlyList<ReadOnlyMemory<int>> GetBatches(ulong seed, long epoch, ref object? storage)
        {
            if (storage is not ConsecutiveBatches batches)
            {
                storage = batches = new ConsecutiveBatches(new int[_sampler.Length], _batchSize, BatchesPerEpoch);
            }

            _sampler.FillIndices(seed, epoch, batches.Indices);
            return batches;
        }
    }

    /// <summary>An epoch's indices cut into batches of a size, without a list of slices.</summary>
    private sealed class ConsecutiveBatches(int[] indices, int batchSize, int count) : IReadOnlyList<ReadOnlyMemory<int>>
    {
        public int[] Indices => indices;

        public int Count => count;

        public ReadOnlyMemory<int> this[int index]
        {
            get
            {
                ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)count, nameof(index));
                var start = (int)((long)index * batchSize);
                return indices.AsMemory(start, Math.Min(batchSize, indices.Length - start));
            }
        }

        public IEnumerator<ReadOnlyMemory<int>> GetEnumerator()
        {
            for (var b = 0; b < count; b++)
            {
                yield return this[b];
            }
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
