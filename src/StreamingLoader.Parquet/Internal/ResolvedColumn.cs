using StreamingLoader.Batching;

namespace StreamingLoader.Parquet.Internal;

/// <summary>
/// A projected column as the dataset reads it: how its values are stored in a decoded unit (<see cref="Kind"/>,
/// <see cref="Stored"/>, <see cref="PerRow"/>) and, for a tensor, the tensor it becomes (<see cref="Spec"/>).
/// </summary>
/// <param name="Mapping">What the user asked for.</param>
/// <param name="Kind">How the column is stored: Number and FixedSizeList without offsets, the others with.</param>
/// <param name="Stored">The element type of the stored values (UInt8 for text and binary).</param>
/// <param name="PerRow">Elements a row for Number and FixedSizeList; 0 otherwise.</param>
/// <param name="Spec">The tensor, or null for text and binary.</param>
internal sealed record ResolvedColumn(ColumnMapping Mapping, ColumnKind Kind, ElementType Stored, int PerRow, TensorSpec? Spec)
{
    public string Name => Mapping.Column;

    /// <summary>Gets whether rows vary in length, so the block has offsets.</summary>
    public bool HasOffsets => Kind is ColumnKind.VariableList or ColumnKind.Text or ColumnKind.Binary;

    /// <summary>Gets the size of one stored element.</summary>
    public int StoredSize => ElementTypes.SizeOf(Stored);

    /// <summary>Gets whether the batch tensor is written by a plain copy of the stored row (no conversion, no padding).</summary>
    public bool CopiesAsIs => Spec is { IsVariableLength: false } spec && spec.ElementType == Stored && !HasOffsets;
}
