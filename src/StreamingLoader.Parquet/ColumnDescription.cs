using StreamingLoader.Batching;

namespace StreamingLoader.Parquet;

/// <summary>One column of a Parquet dataset and what it maps to.</summary>
/// <param name="Name">The column's top-level name.</param>
/// <param name="Kind">What it becomes in a batch.</param>
/// <param name="ElementType">The element type of its values (float32, int64, byte...), or null for text and unsupported columns.</param>
/// <param name="Length">The elements per row of a fixed-size list (1 for a number), or null when it varies or is unknown.</param>
public sealed record ColumnDescription(string Name, ColumnKind Kind, ElementType? ElementType, int? Length);
