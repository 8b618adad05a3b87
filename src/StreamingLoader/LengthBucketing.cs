namespace StreamingLoader;

/// <summary>
/// Batches samples of similar length together, so that little of each batch is padding: tf.data's
/// <c>bucket_by_sequence_length</c> (a sample of length n goes to the bucket whose boundaries hold it; a bucket that
/// reaches its batch size is a batch; at the epoch's end the partial buckets leave in bucket order), with an optional
/// token budget as fairseq's <c>max_tokens</c> (a bucket is also a batch once one more sample would take its padded
/// size, samples × longest, past <see cref="MaxTokens"/>). A sample's length is its first variable-length field's
/// (or <see cref="Field"/>'s), measured by the collator.
/// </summary>
/// <remarks>
/// Samples enter the buckets in the order the source (and a shuffle buffer, or a shuffled sampler) gives them, so the
/// batches are a function of the seed whatever the worker count, mixed within each bucket when the input is shuffled,
/// and resumable exactly. Defaults: no boundaries (one bucket), every bucket's batch size
/// <see cref="LoaderOptions.BatchSize"/>, no token budget, the first variable-length field.
/// </remarks>
public sealed class LengthBucketing
{
    /// <summary>A <see cref="MaxTokens"/> meaning no token budget.</summary>
    public const int Unbounded = -1;

    private IReadOnlyList<int> _boundaries = [];
    private IReadOnlyList<int>? _batchSizes;
    private int _maxTokens = Unbounded;

    /// <summary>
    /// Gets or sets the bucket boundaries, ascending and positive: bucket 0 holds lengths below the first, bucket i
    /// lengths from boundary i − 1 up to (not including) boundary i, the last bucket the rest.
    /// </summary>
    public IReadOnlyList<int> Boundaries
    {
        get => _boundaries;
        set
        {
            ArgumentNullException.ThrowIfNull(value, nameof(Boundaries));
            for (var i = 0; i < value.Count; i++)
            {
                if (value[i] <= 0 || (i > 0 && value[i] <= value[i - 1]))
                {
                    throw new ArgumentOutOfRangeException(nameof(Boundaries), $"Boundaries must be positive and strictly ascending; [{string.Join(", ", value)}] is not.");
                }
            }

            _boundaries = [.. value];
        }
    }

    /// <summary>
    /// Gets or sets each bucket's batch size, one more than there are boundaries (tf.data's
    /// <c>bucket_batch_sizes</c>); null gives every bucket <see cref="LoaderOptions.BatchSize"/>.
    /// </summary>
    public IReadOnlyList<int>? BatchSizes
    {
        get => _batchSizes;
        set
        {
            if (value is not null && value.Any(size => size <= 0))
            {
                throw new ArgumentOutOfRangeException(nameof(BatchSizes), $"Batch sizes must be positive; [{string.Join(", ", value)}] is not.");
            }

            _batchSizes = value is null ? null : [.. value];
        }
    }

    /// <summary>
    /// Gets or sets the most padded steps (tokens) a batch may hold, samples × its longest sample, or
    /// <see cref="Unbounded"/>. A sample longer than the budget on its own is a batch of one.
    /// </summary>
    public int MaxTokens
    {
        get => _maxTokens;
        set
        {
            if (value != Unbounded)
            {
                ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value, nameof(MaxTokens));
            }

            _maxTokens = value;
        }
    }

    /// <summary>Gets or sets the variable-length field whose length decides the bucket; null for the first.</summary>
    public string? Field { get; set; }

    /// <summary>The batch size of bucket <paramref name="bucket"/>.</summary>
    internal int BatchSize(int bucket, int batchSize) => _batchSizes?[bucket] ?? batchSize;

    /// <summary>The largest batch any bucket makes.</summary>
    internal int MaxBatchSize(int batchSize) => _batchSizes?.Max() ?? batchSize;

    /// <summary>The bucket a sample of <paramref name="length"/> goes to.</summary>
    internal int BucketOf(int length)
    {
        var bucket = 0;
        while (bucket < _boundaries.Count && length >= _boundaries[bucket])
        {
            bucket++;
        }

        return bucket;
    }

    internal LengthBucketing Clone() => (LengthBucketing)MemberwiseClone();
}
