using ParquetSharp;

namespace StreamingLoader.Parquet;

/// <summary>
/// Writes rows of fixed-length float32 features and an int64 label as a Parquet file (the layout
/// <see cref="ParquetDataset"/> reads with <c>new TensorColumns(features, label)</c>): for making shards of a dataset.
/// </summary>
public static class ParquetShardWriter
{
    /// <summary>
    /// Writes <paramref name="labels"/>.Length rows to <paramref name="path"/>: column <paramref name="featuresColumn"/> a
    /// list of <paramref name="featureLength"/> float32 per row, column <paramref name="labelColumn"/> an int64, in row
    /// groups of <paramref name="rowGroupRows"/> rows, Snappy-compressed.
    /// </summary>
    public static void Write(string path, ReadOnlySpan<float> features, int featureLength, ReadOnlySpan<long> labels, int rowGroupRows = 16_384, string featuresColumn = "x", string labelColumn = "y")
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(featureLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rowGroupRows);
        if (features.Length != (long)labels.Length * featureLength)
        {
            throw new ArgumentException($"features has {features.Length} values; {labels.Length} rows of {featureLength} need {(long)labels.Length * featureLength}.", nameof(features));
        }

        ArgumentException.ThrowIfNullOrEmpty(featuresColumn);
        ArgumentException.ThrowIfNullOrEmpty(labelColumn);
        using var writer = new ParquetFileWriter(path, [new Column<float[]>(featuresColumn), new Column<long>(labelColumn)], Compression.Snappy);
        for (var start = 0; start < labels.Length; start += rowGroupRows)
        {
            var rows = Math.Min(rowGroupRows, labels.Length - start);
            using var group = writer.AppendRowGroup();
            var lists = new float[rows][];
            for (var i = 0; i < rows; i++)
            {
                lists[i] = features.Slice((start + i) * featureLength, featureLength).ToArray();
            }

            using (var x = group.NextColumn().LogicalWriter<float[]>())
            {
                x.WriteBatch(lists);
            }

            using (var y = group.NextColumn().LogicalWriter<long>())
            {
                y.WriteBatch(labels.Slice(start, rows));
            }
        }

        writer.Close();
    }
}
