namespace StreamingLoader.Parquet;

/// <summary>How a <see cref="ParquetDataset"/> reads.</summary>
/// <remarks>Defaults: <see cref="DecodedUnits"/> 16, <see cref="DecodeAhead"/> true.</remarks>
public sealed class ParquetDatasetOptions
{
    private int _decodedUnits = 16;

    /// <summary>
    /// Gets or sets how many decoded row groups the dataset keeps. It must hold the row groups that the batches being
    /// made at once need: about 2 × <c>ShardingOptions.WindowUnits</c> per worker; fewer cost repeated decodes, not errors.
    /// At least 1.
    /// </summary>
    public int DecodedUnits
    {
        get => _decodedUnits;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _decodedUnits = value;
        }
    }

    /// <summary>
    /// Gets or sets whether the row groups of the sampler's next window are decoded on a background task while the
    /// current window is read. Off, each row group is decoded by the first worker that needs it.
    /// </summary>
    public bool DecodeAhead { get; set; } = true;

    internal ParquetDatasetOptions Clone() => (ParquetDatasetOptions)MemberwiseClone();
}
