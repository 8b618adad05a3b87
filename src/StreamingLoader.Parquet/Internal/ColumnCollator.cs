using StreamingLoader.Batching;
using StreamingLoader.Internal;

namespace StreamingLoader.Parquet.Internal;

/// <summary>
/// Writes the tensor columns of <see cref="ColumnarRow"/>s into a batch, one tensor a column in mapping order (then the
/// masks and lengths the variable-length fields ask for). Fixed-shape layouts use <see cref="Gathering"/>, which lets a
/// loader without a transform skip the rows and copy straight from the decoded units (the dataset's gather).
/// </summary>
internal class ColumnCollator : Collator<ColumnarRow>
{
    private readonly ResolvedColumn[] _tensors;
    private readonly int[] _ordinals;
    private readonly ElementCopier[] _copiers;
    private readonly BatchLayout _layout;

    protected ColumnCollator(RowSchema schema)
    {
        _ordinals = [.. Enumerable.Range(0, schema.Columns.Length).Where(c => schema.Columns[c].Spec is not null)];
        _tensors = [.. _ordinals.Select(c => schema.Columns[c])];
        if (_tensors.Length == 0)
        {
            throw new InvalidOperationException("The dataset's TensorColumns map no column to a tensor (only text or binary): transform its rows into samples and collate those.");
        }

        _copiers = [.. _tensors.Select(t => ElementCopier.For(t.Stored, t.Spec!.ElementType))];
        _layout = new BatchLayout(_tensors.Select(t => t.Spec!));
        Schema = schema;
    }

    public RowSchema Schema { get; }

    public static ColumnCollator For(RowSchema schema) =>
        schema.Columns.Any(c => c.Spec is { IsVariableLength: true }) ? new ColumnCollator(schema) : new Gathering(schema);

    public override BatchLayout GetLayout(ColumnarRow firstSample) => _layout;

    public override void MeasureLengths(in ColumnarRow sample, Span<int> lengths)
    {
        ArgumentNullException.ThrowIfNull(sample);
        var v = 0;
        for (var t = 0; t < _tensors.Length; t++)
        {
            var spec = _tensors[t].Spec!;
            if (spec.IsVariableLength)
            {
                var elements = sample.ValueBytes(_ordinals[t]).Length / _tensors[t].StoredSize;
                lengths[v++] = elements % spec.ElementsPerStep == 0
                    ? elements / spec.ElementsPerStep
                    : throw new InvalidDataException($"Row {sample.Index}: column '{_tensors[t].Name}' holds {elements} values, not a whole number of steps of {spec}.");
            }
        }
    }

    public override void Write(in ColumnarRow sample, int slot, Batch batch)
    {
        ArgumentNullException.ThrowIfNull(sample);
        ArgumentNullException.ThrowIfNull(batch);
        for (var t = 0; t < _tensors.Length; t++)
        {
            var values = sample.ValueBytes(_ordinals[t]);
            var tensor = batch.TensorAt(t);
            if (tensor.Spec.IsVariableLength)
            {
                _copiers[t].Sequence(values, tensor, slot, values.Length / _tensors[t].StoredSize / tensor.Spec.ElementsPerStep);
            }
            else
            {
                _copiers[t].Slot(values, tensor, slot);
            }
        }
    }

    /// <summary>Writes a row's value into a batch (the gather uses the same conversion as rows).</summary>
    public void WriteFixed(int tensor, ReadOnlySpan<byte> values, BatchTensor into, int slot) => _copiers[tensor].Slot(values, into, slot);

    /// <summary>A fixed-shape layout: a loader without a transform lets the dataset gather rows straight into the batch.</summary>
    internal sealed class Gathering(RowSchema schema) : ColumnCollator(schema), ICopyCollator;
}
