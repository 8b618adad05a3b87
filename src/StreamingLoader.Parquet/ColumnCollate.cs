using StreamingLoader.Batching;

namespace StreamingLoader.Parquet;

/// <summary>The collator of columnar datasets, as <c>Collate.Columns(dataset)</c>.</summary>
public static class ColumnCollate
{
    extension(Collate)
    {
        /// <summary>
        /// A collator that writes each tensor column of <paramref name="dataset"/>'s <see cref="TensorColumns"/> into the
        /// batch tensor it maps to (in mapping order, then the masks and lengths of variable-length fields). Without a
        /// transform and with fixed-shape tensors only, the loader copies rows straight from the decoded units.
        /// </summary>
        /// <exception cref="InvalidOperationException">The mapping has no tensor column (only text or binary).</exception>
        public static Collator<ColumnarRow> Columns(ColumnarDataset dataset)
        {
            ArgumentNullException.ThrowIfNull(dataset);
            return dataset.Collator;
        }
    }
}
