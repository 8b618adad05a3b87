using StreamingLoader.Batching;

namespace StreamingLoader.Parquet.Internal;

/// <summary>One projected column: how it is used, and for a tensor its name, element type and (when given) spec.</summary>
internal sealed record ColumnMapping(string Column, ColumnUse Use, string? Name, ElementType? ElementType, TensorSpec? Spec)
{
    public override string ToString() => Use switch
    {
        ColumnUse.Tensor => Spec is not null ? $"{Column} → {Spec}" : $"{Column} → {Name}{(ElementType is { } e ? " " + e : "")}",
        _ => $"{Column} ({Use.ToString().ToLowerInvariant()})",
    };
}
