using StreamingLoader.Batching;

namespace StreamingLoader.Parquet.Internal;

/// <summary>
/// Resolves a <see cref="TensorColumns"/> mapping against the columns of every shard: each projected column must exist
/// in every shard with one element type, and fit the tensor it maps to. Every problem is reported at once, naming the
/// shard and the column.
/// </summary>
internal static class ColumnResolver
{
    public static ResolvedColumn[] Resolve(TensorColumns columns, IReadOnlyList<IReadOnlyList<ColumnDescription>> shards, IReadOnlyList<string> addresses)
    {
        var problems = new List<string>();
        var resolved = new List<ResolvedColumn>();
        foreach (var mapping in columns.Mappings)
        {
            ColumnDescription? first = null;
            var kind = ColumnKind.Unsupported;
            int? length = null;
            var ok = true;
            for (var s = 0; s < shards.Count && ok; s++)
            {
                var found = shards[s].FirstOrDefault(c => c.Name == mapping.Column);
                if (found is null)
                {
                    problems.Add($"the shard {addresses[s]} has no column '{mapping.Column}' (it has {string.Join(", ", shards[s].Select(c => c.Name))})");
                    ok = false;
                }
                else if (first is null)
                {
                    (first, kind, length) = (found, found.Kind, found.Length);
                }
                else if (found.ElementType != first.ElementType || Family(found.Kind) != Family(first.Kind))
                {
                    problems.Add($"the shard {addresses[s]}: column '{mapping.Column}' is {Show(found)}; in {addresses[0]} it is {Show(first)}");
                    ok = false;
                }
                else if (kind == ColumnKind.FixedSizeList && (found.Kind != ColumnKind.FixedSizeList || found.Length != length))
                {
                    // Fixed in one shard, another length (or varying) in the next: the column varies.
                    (kind, length) = (ColumnKind.VariableList, null);
                }
            }

            if (ok && first is not null && Resolve(mapping, first with { Kind = kind, Length = length }, problems) is { } column)
            {
                resolved.Add(column);
            }
        }

        if (problems.Count > 0)
        {
            throw new InvalidDataException($"The columns ({columns}) do not fit the shards: {string.Join("; ", problems)}.");
        }

        return [.. resolved];
    }

    private static ResolvedColumn? Resolve(ColumnMapping mapping, ColumnDescription column, List<string> problems)
    {
        string Problem(string what)
        {
            problems.Add($"column '{mapping.Column}' ({Show(column)}) {what}");
            return what;
        }

        switch (mapping.Use)
        {
            case ColumnUse.Text or ColumnUse.Binary:
                if (column.Kind is not (ColumnKind.Text or ColumnKind.Binary))
                {
                    Problem($"cannot be read as {(mapping.Use == ColumnUse.Text ? "text" : "bytes")}: map it with Tensor()");
                    return null;
                }

                return new ResolvedColumn(mapping, column.Kind, ElementType.UInt8, 0, null);
            case ColumnUse.Tensor when column.Kind is ColumnKind.Text or ColumnKind.Binary:
                Problem($"is not numeric: map it with {(column.Kind == ColumnKind.Text ? "Text" : "Binary")}()");
                return null;
            case ColumnUse.Tensor when column.Kind == ColumnKind.Unsupported || column.ElementType is null:
                Problem("has a type that maps to no tensor (nested lists, maps, structs, decimals and timestamps are not read)");
                return null;
        }

        var stored = column.ElementType!.Value;
        var elementType = mapping.ElementType ?? stored;
        if (stored == ElementType.Bool && elementType is not (ElementType.Bool or ElementType.UInt8))
        {
            Problem($"is bool: it maps to a Bool or UInt8 tensor, not {elementType}");
            return null;
        }

        var perRow = column.Kind == ColumnKind.Number ? 1 : column.Length ?? 0;
        var spec = mapping.Spec ?? new TensorSpec(
            mapping.Name!,
            elementType,
            column.Kind switch
            {
                ColumnKind.Number => [],
                ColumnKind.FixedSizeList => [perRow],
                _ => [TensorSpec.Variable],
            });
        if (spec.IsVariableLength)
        {
            if (column.Kind == ColumnKind.Number)
            {
                Problem($"is a number, one a row: it cannot be the variable-length field {spec}");
                return null;
            }

            if (column.Kind == ColumnKind.FixedSizeList && perRow % spec.ElementsPerStep != 0)
            {
                Problem($"holds {perRow} values a row, not a whole number of steps of {spec}");
                return null;
            }
        }
        else if (column.Kind == ColumnKind.VariableList)
        {
            Problem($"varies in length from row to row: map it to a variable-length field ([TensorSpec.Variable, ...]), not {spec}");
            return null;
        }
        else if (spec.ElementsPerStep != perRow)
        {
            Problem($"holds {perRow} value(s) a row; the tensor {spec} takes {spec.ElementsPerStep}");
            return null;
        }

        return new ResolvedColumn(mapping, column.Kind, stored, column.Kind == ColumnKind.VariableList ? 0 : perRow, spec);
    }

    /// <summary>Numbers and lists of them are one family: a list column may be fixed in one shard and vary in another.</summary>
    private static int Family(ColumnKind kind) => kind switch
    {
        ColumnKind.Number => 0,
        ColumnKind.FixedSizeList or ColumnKind.VariableList => 1,
        ColumnKind.Text => 2,
        ColumnKind.Binary => 3,
        _ => 4,
    };

    private static string Show(ColumnDescription column) => column.Kind switch
    {
        ColumnKind.Number => $"{column.ElementType}",
        ColumnKind.FixedSizeList => $"a list of {column.Length} {column.ElementType}",
        ColumnKind.VariableList => $"a list of {column.ElementType}",
        ColumnKind.Text => "strings",
        ColumnKind.Binary => "binary",
        _ => "of an unsupported type",
    };
}
