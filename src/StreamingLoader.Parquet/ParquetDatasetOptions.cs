namespace StreamingLoader.Parquet;

/// <summary>How a <see cref="ParquetDataset"/> reads.</summary>
/// <remarks>Defaults: <see cref="DecodedUnits"/> 16.</remarks>
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

    internal ParquetDatasetOptions Clone() => (ParquetDatasetOptions)MemberwiseClone();
}
