using Apache.Arrow;
using Apache.Arrow.Types;
using StreamingLoader.Batching;

namespace StreamingLoader.Parquet.Internal;

/// <summary>
/// An Arrow IPC shard as the dataset needs it: file or stream, its schema, and per record batch its rows and (in a
/// file) the byte where it ends, so that batch k is read from the first bytes up to there.
/// </summary>
internal sealed record ArrowLayout(bool IsFile, Schema Schema, int[] Rows, long[]? BatchEnds)
{
    /// <summary>What each top-level column maps to (see <see cref="TensorColumns"/>).</summary>
    public IReadOnlyList<ColumnDescription> Describe() => [.. Schema.FieldsList.Select(Describe)];

    private static ColumnDescription Describe(Field field)
    {
        switch (field.DataType)
        {
            case StringType:
                return new ColumnDescription(field.Name, ColumnKind.Text, null, null);
            case BinaryType:
                return new ColumnDescription(field.Name, ColumnKind.Binary, ElementType.UInt8, null);
            case FixedSizeListType list when ListElement(list.ValueDataType) is { } element:
                return new ColumnDescription(field.Name, ColumnKind.FixedSizeList, element, list.ListSize);
            case ListType list when ListElement(list.ValueDataType) is { } element:
                return new ColumnDescription(field.Name, ColumnKind.VariableList, element, null);
            default:
                var number = ElementOf(field.DataType);
                return number is null
                    ? new ColumnDescription(field.Name, ColumnKind.Unsupported, null, null)
                    : new ColumnDescription(field.Name, ColumnKind.Number, number, 1);
        }
    }

    /// <summary>The element type of a list's values: numbers stored a value a slot (bool lists are bit-packed: not read).</summary>
    private static ElementType? ListElement(IArrowType type) => type is BooleanType ? null : ElementOf(type);

    private static ElementType? ElementOf(IArrowType type) => type.TypeId switch
    {
        ArrowTypeId.Float => ElementType.Float32,
        ArrowTypeId.Double => ElementType.Float64,
        ArrowTypeId.Int32 => ElementType.Int32,
        ArrowTypeId.Int64 => ElementType.Int64,
        ArrowTypeId.UInt8 => ElementType.UInt8,
        ArrowTypeId.Boolean => ElementType.Bool,
        _ => null,
    };
}
