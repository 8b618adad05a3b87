namespace StreamingLoader.Parquet;

/// <summary>
/// Which columns become a sample's tensors: the one place where columns map to tensors, so that it moves to named
/// tensors in one step. Only these columns are read (column projection).
/// </summary>
/// <remarks>
/// The mapping of column types: a list of float32 of the same length in every row (a fixed-size list) becomes the
/// fixed-shape float features [length]; an int64 or int32 column becomes the int64 label. Variable-length lists
/// (variable-length fields), strings (text) and binary (encoded images) are recognized by
/// <see cref="ParquetDataset.DescribeColumns"/> but not delivered until batches hold named, variable-length tensors.
/// </remarks>
/// <param name="Features">The column of features: a list of float32 of fixed length.</param>
/// <param name="Label">The column of labels: int64 or int32.</param>
public sealed record TensorColumns(string Features = "x", string Label = "y");
