using ParquetSharp;
using StreamingLoader.Batching;

namespace StreamingLoader.Parquet.Internal;

/// <summary>A Parquet file's footer as the dataset needs it: rows per row group, and the columns.</summary>
internal sealed record ParquetLayout(int[] RowGroupRows, IReadOnlyList<ParquetLeaf> Leaves);

/// <summary>
/// A leaf column: its top-level name, physical type, its levels, and its value count (levels) per row group.
/// <paramref name="MaxRepetition"/> above 1 is a nested list (not read). For a list, a definition level of at least
/// <paramref name="ListDefined"/> means the list is not null, and at least <paramref name="ElementDefined"/> that it
/// has an element at this position (null unless the level is <paramref name="MaxDefinition"/>).
/// </summary>
internal sealed record ParquetLeaf(
    int Index, string Name, PhysicalType Type, bool IsString, int MaxDefinition, int MaxRepetition, int ListDefined, int ElementDefined, long[] ValuesPerRowGroup)
{
    public bool Repeated => MaxRepetition > 0;
}

internal static class ParquetFooter
{
    /// <summary>Reads the footer of a Parquet file through <paramref name="stream"/> (only its tail is read).</summary>
    public static ParquetLayout Read(Stream stream)
    {
        using var reader = new ParquetFileReader(stream, leaveOpen: true);
        var meta = reader.FileMetaData;
        var groups = meta.NumRowGroups;
        var rows = new int[groups];
        var schema = meta.Schema;
        var values = new long[schema.NumColumns][];
        for (var c = 0; c < values.Length; c++)
        {
            values[c] = new long[groups];
        }

        for (var g = 0; g < groups; g++)
        {
            using var group = reader.RowGroup(g);
            rows[g] = checked((int)group.MetaData.NumRows);
            for (var c = 0; c < values.Length; c++)
            {
                using var chunk = group.MetaData.GetColumnChunkMetaData(c);
                values[c][g] = chunk.NumValues;
            }
        }

        var leaves = new List<ParquetLeaf>();
        for (var c = 0; c < schema.NumColumns; c++)
        {
            var column = schema.Column(c);
            using var path = column.Path;
            using var logical = column.LogicalType;
            var (listDefined, elementDefined) = Levels(column);
            leaves.Add(new ParquetLeaf(
                c, path.ToDotVector()[0], column.PhysicalType, logical is StringLogicalType, column.MaxDefinitionLevel, column.MaxRepetitionLevel, listDefined, elementDefined, values[c]));
        }

        return new ParquetLayout(rows, leaves);
    }

    /// <summary>
    /// The definition levels at which a list column's top-level node is defined (not null) and at which its repeated
    /// node holds an element: counted from the root, each optional or repeated node adds one.
    /// </summary>
    private static (int ListDefined, int ElementDefined) Levels(ColumnDescriptor column)
    {
        var path = new List<Repetition>();
        for (var node = column.SchemaNode; node.Parent is { } parent; node = parent)
        {
            path.Add(node.Repetition);
        }

        path.Reverse();
        var (level, listDefined, elementDefined) = (0, 0, 0);
        for (var i = 0; i < path.Count; i++)
        {
            if (path[i] != Repetition.Required)
            {
                level++;
            }

            if (i == 0)
            {
                listDefined = level;
            }

            if (path[i] == Repetition.Repeated && elementDefined == 0)
            {
                elementDefined = level;
            }
        }

        return (listDefined, elementDefined);
    }

    /// <summary>What each top-level column maps to (see <see cref="TensorColumns"/>).</summary>
    public static IReadOnlyList<ColumnDescription> Describe(ParquetLayout layout)
    {
        var described = new List<ColumnDescription>();
        foreach (var group in layout.Leaves.GroupBy(l => l.Name))
        {
            if (group.Count() != 1 || group.First().MaxRepetition > 1)
            {
                described.Add(new ColumnDescription(group.Key, ColumnKind.Unsupported, null, null));
                continue;
            }

            var leaf = group.Single();
            var element = ElementOf(leaf.Type);
            if (leaf.Type == PhysicalType.ByteArray && leaf.Repeated)
            {
                described.Add(new ColumnDescription(leaf.Name, ColumnKind.Unsupported, null, null));
            }
            else if (leaf.Type == PhysicalType.ByteArray)
            {
                described.Add(new ColumnDescription(leaf.Name, leaf.IsString ? ColumnKind.Text : ColumnKind.Binary, leaf.IsString ? null : ElementType.UInt8, null));
            }
            else if (element is null)
            {
                described.Add(new ColumnDescription(leaf.Name, ColumnKind.Unsupported, null, null));
            }
            else if (!leaf.Repeated)
            {
                described.Add(new ColumnDescription(leaf.Name, ColumnKind.Number, element, 1));
            }
            else
            {
                var length = FixedLength(layout.RowGroupRows, leaf.ValuesPerRowGroup);
                described.Add(new ColumnDescription(leaf.Name, length is null ? ColumnKind.VariableList : ColumnKind.FixedSizeList, element, length));
            }
        }

        return described;
    }

    /// <summary>The list length when every row group holds rows × length values (checked again row by row on decode).</summary>
    public static int? FixedLength(int[] rows, long[] values)
    {
        int? length = null;
        for (var g = 0; g < rows.Length; g++)
        {
            if (rows[g] == 0)
            {
                continue;
            }

            if (values[g] % rows[g] != 0)
            {
                return null;
            }

            var k = (int)(values[g] / rows[g]);
            if (length is not null && length != k)
            {
                return null;
            }

            length = k;
        }

        return length;
    }

    private static ElementType? ElementOf(PhysicalType type) => type switch
    {
        PhysicalType.Float => ElementType.Float32,
        PhysicalType.Double => ElementType.Float64,
        PhysicalType.Int32 => ElementType.Int32,
        PhysicalType.Int64 => ElementType.Int64,
        PhysicalType.Boolean => ElementType.Bool,
        _ => null,
    };
}
