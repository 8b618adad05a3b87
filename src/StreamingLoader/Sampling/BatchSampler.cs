namespace StreamingLoader;

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

        // No batch holds more samples than an epoch has: a batch size far above the dataset's reserves no more.
        public override int MaxBatchSize => Math.Max(1, Math.Min(_batchSize, _sampler.Length));

        // In long: a batch size near int.MaxValue must not overflow to a negative (empty) epoch.
        public override int BatchesPerEpoch => (int)(_dropLast
            ? _sampler.Length / (long)_batchSize
            : (_sampler.Length + (long)_batchSize - 1) / _batchSize);

        public override IReadOnlyList<ReadOnlyMemory<int>> GetBatches(ulong seed, long epoch)
        {
            var indices = _sampler.GetIndices(seed, epoch);
            var batches = new ReadOnlyMemory<int>[BatchesPerEpoch];
            for (var b = 0; b < batches.Length; b++)
            {
                var start = (int)((long)b * _batchSize);
                batches[b] = indices.AsMemory(start, Math.Min(_batchSize, indices.Length - start));
            }

            return batches;
        }
    }
}
