using StreamingLoader.Batching;
using StreamingLoader.Parquet.Internal;

namespace StreamingLoader.Parquet;

/// <summary>
/// Which columns a <see cref="ColumnarDataset"/> reads and what each becomes: the one place where columns map to
/// tensors. Only these columns are read (column projection). Each method returns a new mapping with one more column.
/// </summary>
/// <remarks>
/// <para>How a column's type maps, unless a <see cref="TensorSpec"/> says otherwise:</para>
/// <list type="bullet">
/// <item>a number (float32, float64, int32, int64, bool) → a tensor [n] of that element type;</item>
/// <item>a list of numbers with the same length k in every row (a fixed-size list) → a fixed-shape tensor [n, k];</item>
/// <item>a list whose length varies → a variable-length field [n, L], padded per batch (<see cref="SequencePadding"/>);</item>
/// <item>a string → text (<see cref="Text"/>): read with <see cref="ColumnarRow.Text"/>, for a tokenizer;</item>
/// <item>binary → bytes (<see cref="Binary"/>): read with <see cref="ColumnarRow.Bytes"/>, such as encoded images for the image pipeline.</item>
/// </list>
/// <para>A null value is an error that names the shard, the row and the column (or a dead letter under <see cref="ErrorPolicy.Skip"/>).</para>
/// </remarks>
/// <example>
/// <code>
/// var columns = new TensorColumns()
///     .Tensor("pixels")                                  // list of 784 float32 → "pixels" [n, 784]
///     .Tensor("tokens", new TensorSpec("input_ids", ElementType.Int64, [TensorSpec.Variable])
///         { MaskName = "attention_mask", Padding = new SequencePadding { MaxLength = 512 } })
///     .Tensor("label", "labels")                         // int64 → "labels" [n]
///     .Text("caption");
/// </code>
/// </example>
public sealed class TensorColumns
{
    private readonly ColumnMapping[] _mappings;

    /// <summary>An empty mapping; add columns with <see cref="Tensor(string, string?, ElementType?)"/>, <see cref="Text"/> and <see cref="Binary"/>.</summary>
    public TensorColumns()
    {
        _mappings = [];
    }

    /// <summary>
    /// The two-tensor case: <paramref name="features"/> (numbers or a fixed-size list) becomes the tensor
    /// <c>features</c> and <paramref name="label"/> (a number) the tensor <c>labels</c>, as float32 and int64, so that
    /// <c>batch.Features</c> and <c>batch.Labels</c> read them.
    /// </summary>
    public TensorColumns(string features, string label)
        : this()
    {
        _mappings =
        [
            new ColumnMapping(features, ColumnUse.Tensor, BatchLayout.FeaturesName, ElementType.Float32, null),
            new ColumnMapping(label, ColumnUse.Tensor, BatchLayout.LabelsName, ElementType.Int64, null),
        ];
        Validate();
    }

    private TensorColumns(ColumnMapping[] mappings)
    {
        _mappings = mappings;
        Validate();
    }

    /// <summary>Gets the columns read, in the order they were added.</summary>
    public IReadOnlyList<string> Columns => [.. _mappings.Select(m => m.Column)];

    internal IReadOnlyList<ColumnMapping> Mappings => _mappings;

    /// <summary>
    /// Adds a column as a tensor whose shape follows the column's type (see the remarks): a number [n], a fixed-size
    /// list [n, k], a variable-length list [n, L] padded with <see cref="SequencePadding"/>'s defaults.
    /// </summary>
    /// <param name="column">The column's top-level name.</param>
    /// <param name="name">The tensor's name in the batch; the column's name when null.</param>
    /// <param name="elementType">The tensor's element type when it differs from the column's (int32 into Int64).</param>
    public TensorColumns Tensor(string column, string? name = null, ElementType? elementType = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(column);
        return With(new ColumnMapping(column, ColumnUse.Tensor, name ?? column, elementType, null));
    }

    /// <summary>
    /// Adds a column as the tensor <paramref name="spec"/> describes: its name, element type (converted from the
    /// column's), shape ([] for a number, [k] for a fixed-size list of k, [<see cref="TensorSpec.Variable"/>] for a
    /// list of any length, with its padding, mask and lengths).
    /// </summary>
    public TensorColumns Tensor(string column, TensorSpec spec)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(column);
        ArgumentNullException.ThrowIfNull(spec);
        return With(new ColumnMapping(column, ColumnUse.Tensor, spec.Name, spec.ElementType, spec));
    }

    /// <summary>Adds a string column, read as text with <see cref="ColumnarRow.Text"/> (a transform tokenizes it).</summary>
    public TensorColumns Text(string column)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(column);
        return With(new ColumnMapping(column, ColumnUse.Text, null, null, null));
    }

    /// <summary>Adds a binary column, read as bytes with <see cref="ColumnarRow.Bytes"/> (encoded images, audio, anything).</summary>
    public TensorColumns Binary(string column)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(column);
        return With(new ColumnMapping(column, ColumnUse.Binary, null, null, null));
    }

    /// <inheritdoc/>
    public override string ToString() => string.Join(", ", _mappings.Select(m => m.ToString()));

    private TensorColumns With(ColumnMapping mapping) => new([.. _mappings, mapping]);

    private void Validate()
    {
        var column = _mappings.GroupBy(m => m.Column, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (column is not null)
        {
            throw new ArgumentException($"The column '{column.Key}' is mapped twice.");
        }

        var tensor = _mappings.Where(m => m.Name is not null).GroupBy(m => m.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (tensor is not null)
        {
            throw new ArgumentException($"Two columns ({string.Join(", ", tensor.Select(m => m.Column))}) map to the tensor '{tensor.Key}'.");
        }
    }
}
