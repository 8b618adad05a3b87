using System.Numerics.Tensors;
using System.Numerics;

namespace StreamingLoader.Batching;

/// <summary>
/// A collator built from named fields, each read from the sample by a function: fixed-shape tensors, scalars and
/// variable-length sequences that each batch pads (<see cref="SequencePadding"/>). Start one with
/// <see cref="Collate.Fields{T}"/>; each method returns a new collator with one more field.
/// </summary>
/// <typeparam name="T">The sample type.</typeparam>
/// <example>
/// <code>
/// var collator = Collate.Fields&lt;Review&gt;()
///     .Sequence("input_ids", r =&gt; r.Tokens.Span, new SequencePadding { MaxLength = 512 }, padValue: 50256,
///         maskName: "attention_mask", elementType: ElementType.Int64)
///     .Scalar("labels", r =&gt; (long)r.Stars);
/// </code>
/// </example>
public sealed class FieldCollator<T> : Collator<T>
{
    private readonly Field[] _fields;
    private readonly BatchLayout? _layout;
    private readonly int[] _variable;

    internal FieldCollator(Field[] fields)
    {
        _fields = fields;
        _layout = fields.Length == 0 ? null : new BatchLayout(fields.Select(f => f.Spec));
        _variable = [.. Enumerable.Range(0, fields.Length).Where(i => fields[i].Spec.IsVariableLength)];
    }

    /// <summary>Adds a tensor described by <paramref name="spec"/>, fixed-shape or variable-length, read as a span.</summary>
    /// <param name="spec">The tensor's name, element type, shape and padding; elements are converted to its element type.</param>
    /// <param name="values">The sample's elements, row-major (for a variable-length field, a whole number of steps).</param>
    public FieldCollator<T> Tensor<TElement>(TensorSpec spec, Func<T, ReadOnlySpan<TElement>> values)
        where TElement : unmanaged, INumberBase<TElement>
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(values);
        return With(new SpanField<TElement>(spec, values));
    }

    /// <summary>Adds a variable-length field: Int64 token ids, a 1-D signal, anything one sample has a run of.</summary>
    /// <param name="name">The tensor's name.</param>
    /// <param name="values">The sample's run of elements.</param>
    /// <param name="padding">How each batch pads and truncates it; null for <see cref="SequencePadding"/>'s defaults.</param>
    /// <param name="padValue">The value of padding positions.</param>
    /// <param name="maskName">The name of an attention mask to add (1 data, 0 padding), or null.</param>
    /// <param name="lengthsName">The name of a lengths tensor to add, or null.</param>
    /// <param name="elementType">The tensor's element type when it differs from <typeparamref name="TElement"/> (Int32 ids into Int64).</param>
    public FieldCollator<T> Sequence<TElement>(
        string name, Func<T, ReadOnlySpan<TElement>> values, SequencePadding? padding = null, double padValue = 0,
        string? maskName = null, string? lengthsName = null, ElementType? elementType = null)
        where TElement : unmanaged, INumberBase<TElement> =>
        Tensor(
            new TensorSpec(name, elementType ?? ElementTypes.Of<TElement>(), [TensorSpec.Variable])
            {
                Padding = padding, PadValue = padValue, MaskName = maskName, LengthsName = lengthsName,
            },
            values);

    /// <summary>Adds a scalar per sample (a class label, a target), a tensor of shape [n].</summary>
    public FieldCollator<T> Scalar<TElement>(string name, Func<T, TElement> value, ElementType? elementType = null)
        where TElement : unmanaged, INumberBase<TElement>
    {
        ArgumentNullException.ThrowIfNull(value);
        return With(new ScalarField<TElement>(new TensorSpec(name, elementType ?? ElementTypes.Of<TElement>(), []), value));
    }

    /// <inheritdoc/>
    public override BatchLayout GetLayout(T firstSample) =>
        _layout ?? throw new InvalidOperationException("The collator has no fields: add them with Tensor, Sequence or Scalar.");

    /// <inheritdoc/>
    public override void MeasureLengths(in T sample, Span<int> lengths)
    {
        for (var v = 0; v < _variable.Length; v++)
        {
            lengths[v] = _fields[_variable[v]].Measure(sample);
        }
    }

    /// <inheritdoc/>
    public override void Write(in T sample, int slot, Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        for (var f = 0; f < _fields.Length; f++)
        {
            _fields[f].Write(sample, slot, batch.TensorAt(f));
        }
    }

    private FieldCollator<T> With(Field field)
    {
        var fields = new Field[_fields.Length + 1];
        _fields.CopyTo(fields, 0);
        fields[^1] = field;
        return new FieldCollator<T>(fields);
    }

    /// <summary>One field: its spec, and how to measure and write it from a sample.</summary>
    internal abstract class Field(TensorSpec spec)
    {
        public TensorSpec Spec => spec;

        public abstract int Measure(T sample);

        public abstract void Write(T sample, int slot, BatchTensor tensor);
    }

    private sealed class SpanField<TElement>(TensorSpec spec, Func<T, ReadOnlySpan<TElement>> values) : Field(spec)
        where TElement : unmanaged, INumberBase<TElement>
    {
        private readonly Writer<TElement> _writer = Writer<TElement>.For(spec);

        public override int Measure(T sample)
        {
            var length = values(sample).Length;
            var step = Spec.ElementsPerStep;
            return length % step == 0
                ? length / step
                : throw new InvalidDataException($"Field '{Spec.Name}': {length} elements are not a whole number of steps of {Shapes.Format(Spec.Shape.Skip(1).ToArray())}.");
        }

        public override void Write(T sample, int slot, BatchTensor tensor)
        {
            var source = values(sample);
            if (!Spec.IsVariableLength)
            {
                if (source.Length != Spec.ElementsPerStep)
                {
                    throw new InvalidDataException($"Field '{Spec.Name}' has {source.Length} elements; its shape {Shapes.Format(Spec.Shape)} needs {Spec.ElementsPerStep}.");
                }

                _writer.Slot(source, tensor, slot);
                return;
            }

            var step = Spec.ElementsPerStep;
            if (source.Length % step != 0)
            {
                throw new InvalidDataException($"Field '{Spec.Name}': {source.Length} elements are not a whole number of steps of {step}.");
            }

            _writer.Sequence(source, tensor, slot, source.Length / step);
        }
    }

    private sealed class ScalarField<TElement>(TensorSpec spec, Func<T, TElement> value) : Field(spec)
        where TElement : unmanaged, INumberBase<TElement>
    {
        private readonly Writer<TElement> _writer = Writer<TElement>.For(spec);

        public override int Measure(T sample) => 1;

        public override void Write(T sample, int slot, BatchTensor tensor)
        {
            var element = value(sample);
            _writer.Slot(new ReadOnlySpan<TElement>(in element), tensor, slot);
        }
    }

    /// <summary>Copies elements into a tensor, converting them to its element type when it differs.</summary>
    private abstract class Writer<TElement>
        where TElement : unmanaged, INumberBase<TElement>
    {
        public abstract void Slot(ReadOnlySpan<TElement> source, BatchTensor tensor, int slot);

        public abstract void Sequence(ReadOnlySpan<TElement> source, BatchTensor tensor, int slot, int steps);

        public static Writer<TElement> For(TensorSpec spec) => spec.ElementType switch
        {
            ElementType.Float32 => new To<float>(),
            ElementType.Float64 => new To<double>(),
            ElementType.Float16 => new To<Half>(),
            ElementType.UInt8 => new To<byte>(),
            ElementType.Int8 => new To<sbyte>(),
            ElementType.Int16 => new To<short>(),
            ElementType.Int32 => new To<int>(),
            ElementType.Int64 => new To<long>(),
            _ => throw new ArgumentException($"Field '{spec.Name}': {typeof(TElement).Name} elements cannot be written as {spec.ElementType}.", nameof(spec)),
        };

        private sealed class To<TOut> : Writer<TElement>
            where TOut : unmanaged, INumberBase<TOut>
        {
            public override void Slot(ReadOnlySpan<TElement> source, BatchTensor tensor, int slot) =>
                Copy(source, tensor.SlotUnchecked<TOut>(slot));

            public override void Sequence(ReadOnlySpan<TElement> source, BatchTensor tensor, int slot, int steps)
            {
                var destination = tensor.SequenceRow<TOut>(slot, steps, out var skip);
                Copy(source.Slice(skip * tensor.Spec.ElementsPerStep, destination.Length), destination);
            }

            private static void Copy(ReadOnlySpan<TElement> source, Span<TOut> destination)
            {
                if (typeof(TElement) == typeof(TOut))
                {
                    System.Runtime.InteropServices.MemoryMarshal.Cast<TElement, TOut>(source).CopyTo(destination);
                }
                else
                {
                    TensorPrimitives.ConvertTruncating(source, destination);
                }
            }
        }
    }
}
