namespace StreamingLoader.Shards;

/// <summary>
/// How a sharded dataset's samples are ordered each epoch and dealt to the ranks of a job (the arguments of
/// PyTorch's <c>DistributedSampler</c>, plus the shuffle window of a streaming dataset).
/// </summary>
/// <remarks>
/// Defaults: <see cref="World"/> from the environment (<see cref="Shards.World.FromEnvironment"/>), <see cref="BatchSize"/> 1,
/// <see cref="Shuffle"/> true, <see cref="DropLast"/> false (pad), <see cref="WindowUnits"/> 4.
/// </remarks>
public sealed class ShardingOptions
{
    private int _batchSize = 1;
    private int _windowUnits = 4;

    /// <summary>Gets or sets this process's place in the job; null (the default) reads it from the environment.</summary>
    public World? World { get; set; }

    /// <summary>Gets or sets the samples per batch on each rank. At least 1.</summary>
    public int BatchSize
    {
        get => _batchSize;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _batchSize = value;
        }
    }

    /// <summary>
    /// Gets or sets whether each epoch shuffles the units (row groups, record batches, tar shards) and then the samples
    /// within each window of <see cref="WindowUnits"/> units. Off, an epoch reads the shards in order.
    /// </summary>
    public bool Shuffle { get; set; } = true;

    /// <summary>
    /// Gets or sets whether the tail of an epoch that does not divide among the ranks is dropped (true) or padded by
    /// repeating samples from the epoch's start (false), as <c>DistributedSampler(drop_last=…)</c>: either way every
    /// rank gets the same number of samples and batches.
    /// </summary>
    public bool DropLast { get; set; }

    /// <summary>
    /// Gets or sets how many consecutive units of the shuffled unit order have their samples shuffled together. A
    /// window bounds the decoded units a reader keeps (no unit is decoded per sample) and sets how well batches mix.
    /// At least 1.
    /// </summary>
    public int WindowUnits
    {
        get => _windowUnits;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _windowUnits = value;
        }
    }

    internal ShardingOptions Clone() => (ShardingOptions)MemberwiseClone();
}
