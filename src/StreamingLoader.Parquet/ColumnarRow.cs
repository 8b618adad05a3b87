using System.Runtime.InteropServices;
using System.Text;
using StreamingLoader.Batching;
using StreamingLoader.Parquet.Internal;

namespace StreamingLoader.Parquet;

/// <summary>
/// One row of a <see cref="ColumnarDataset"/>: a copy of its projected columns, valid as long as it is referenced.
/// Numbers and lists are read with <see cref="Values{T}"/> in the column's element type, strings with
/// <see cref="Text"/>, binary with <see cref="Bytes"/>.
/// </summary>
/// <remarks>
/// Rows are what a transform receives (to tokenize a text column, or hand a binary column to the image pipeline).
/// A loader without a transform does not make rows: it copies the tensor columns straight from the decoded unit into
/// the batch.
/// </remarks>
public sealed class ColumnarRow
{
    private readonly RowSchema _schema;
    private readonly byte[] _data;
    private readonly int[] _bounds;

    internal ColumnarRow(RowSchema schema, long index, byte[] data, int[] bounds)
    {
        _schema = schema;
        Index = index;
        _data = data;
        _bounds = bounds;
    }

    /// <summary>Gets the row's index in the dataset.</summary>
    public long Index { get; }

    /// <summary>Gets the columns the row holds (the projected ones), in mapping order.</summary>
    public IReadOnlyList<string> Columns => _schema.Names;

    /// <summary>
    /// The values of a number column (one) or a list column (its elements), as <typeparamref name="T"/>, which must be
    /// the column's element type (<see cref="ColumnDescription.ElementType"/>: float for float32, long for int64...).
    /// </summary>
    /// <exception cref="ArgumentException">The column is not projected, or holds another element type.</exception>
    public ReadOnlySpan<T> Values<T>(string column)
        where T : unmanaged
    {
        var ordinal = _schema.Ordinal(column);
        var resolved = _schema.Columns[ordinal];
        if (resolved.Spec is null || ElementTypes.Of<T>() != resolved.Stored)
        {
            throw new ArgumentException($"Column '{column}' holds {(resolved.Spec is null ? resolved.Kind.ToString().ToLowerInvariant() : resolved.Stored.ToString())}, not {typeof(T).Name} values.", nameof(column));
        }

        return MemoryMarshal.Cast<byte, T>(Slice(ordinal));
    }

    /// <summary>The UTF-8 text of a string column.</summary>
    /// <exception cref="ArgumentException">The column is not a projected text or binary column.</exception>
    public string Text(string column) => Encoding.UTF8.GetString(BytesOf(column, ColumnUse.Text).Span);

    /// <summary>The bytes of a binary (or string) column: an encoded image, audio, a serialized record.</summary>
    /// <exception cref="ArgumentException">The column is not a projected text or binary column.</exception>
    public ReadOnlyMemory<byte> Bytes(string column) => BytesOf(column, ColumnUse.Binary);

    /// <inheritdoc/>
    public override string ToString() => $"row {Index} ({string.Join(", ", Columns)})";

    private ReadOnlyMemory<byte> BytesOf(string column, ColumnUse use)
    {
        var ordinal = _schema.Ordinal(column);
        if (_schema.Columns[ordinal].Spec is not null)
        {
            throw new ArgumentException($"Column '{column}' is a tensor column; read it with Values<T>, or map it with {(use == ColumnUse.Text ? "Text" : "Binary")}().", nameof(column));
        }

        return _data.AsMemory(_bounds[2 * ordinal], _bounds[(2 * ordinal) + 1] - _bounds[2 * ordinal]);
    }

    /// <summary>The stored bytes of projected column <paramref name="ordinal"/>.</summary>
    internal ReadOnlySpan<byte> ValueBytes(int ordinal) => Slice(ordinal);

    private ReadOnlySpan<byte> Slice(int ordinal) => _data.AsSpan(_bounds[2 * ordinal], _bounds[(2 * ordinal) + 1] - _bounds[2 * ordinal]);
}
