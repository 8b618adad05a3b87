namespace StreamingLoader.Parquet.Internal;

/// <summary>What a projected column is read as.</summary>
internal enum ColumnUse
{
    Tensor,
    Text,
    Binary,
}
