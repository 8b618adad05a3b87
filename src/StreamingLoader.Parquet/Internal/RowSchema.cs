namespace StreamingLoader.Parquet.Internal;

/// <summary>The projected columns of a dataset, shared by its rows: their names and how each is stored.</summary>
internal sealed class RowSchema
{
    private readonly Dictionary<string, int> _ordinals;

    public RowSchema(ResolvedColumn[] columns)
    {
        Columns = columns;
        Names = [.. columns.Select(c => c.Name)];
        _ordinals = columns.Select((c, i) => (c.Name, i)).ToDictionary(p => p.Name, p => p.i, StringComparer.Ordinal);
    }

    public ResolvedColumn[] Columns { get; }

    public IReadOnlyList<string> Names { get; }

    /// <summary>The position of a projected column; an error naming the projected ones when it is not one.</summary>
    public int Ordinal(string column)
    {
        ArgumentNullException.ThrowIfNull(column);
        return _ordinals.TryGetValue(column, out var ordinal)
            ? ordinal
            : throw new ArgumentException($"'{column}' is not a column this dataset reads (it reads {string.Join(", ", Names)}): add it to the TensorColumns.", nameof(column));
    }
}
