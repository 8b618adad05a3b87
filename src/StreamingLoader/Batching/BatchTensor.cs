using System.Runtime.CompilerServices;

namespace StreamingLoader.Batching;

/// <summary>
/// One named tensor of a batch: pinned, 64-byte-aligned native memory with its shape and element type, so any
/// tensor library can wrap <see cref="Pointer"/> without a copy (for example <c>torch::from_blob</c>).
/// </summary>
/// <remarks>Valid only until its <see cref="Batch"/> is disposed: the memory then goes back to the pool.</remarks>
public sealed unsafe class BatchTensor
{
    private readonly Batch _owner;
    private readonly int[] _shape;
    private readonly byte* _data;
    private readonly int[]? _lengths;
    private int _elementsPerSample;

    internal BatchTensor(Batch owner, TensorSpec spec, byte* data, long capacityBytes, int[]? lengths)
    {
        _owner = owner;
        Spec = spec;
        _shape = spec.IsVariableLength ? [0, 0, .. spec.Shape.Skip(1)] : [0, .. spec.Shape];
        _elementsPerSample = spec.IsVariableLength ? 0 : spec.ElementsPerStep;
        _data = data;
        _lengths = lengths;
        CapacityBytes = capacityBytes;
    }

    /// <summary>Gets the batch this tensor belongs to.</summary>
    public Batch Batch => _owner;

    /// <summary>Gets the tensor's name in its batch.</summary>
    public string Name => Spec.Name;

    /// <summary>Gets the element type.</summary>
    public ElementType ElementType => Spec.ElementType;

    /// <summary>Gets the tensor's description in the layout.</summary>
    public TensorSpec Spec { get; }

    /// <summary>
    /// Gets the shape: [samples in this batch, ..sample shape]; a variable-length field's second dimension is this
    /// batch's padded length.
    /// </summary>
    public ReadOnlySpan<int> Shape
    {
        get
        {
            _owner.ThrowIfNotLeased();
            return _shape;
        }
    }

    /// <summary>Gets the address of the first element: pinned and 64-byte aligned.</summary>
    public nint Pointer
    {
        get
        {
            _owner.ThrowIfNotLeased();
            return (nint)_data;
        }
    }

    /// <summary>Gets the number of elements in this batch.</summary>
    public int ElementCount => _shape[0] * _elementsPerSample;

    /// <summary>Gets the number of bytes in this batch.</summary>
    public long ByteLength => (long)ElementCount * ElementTypes.SizeOf(ElementType);

    /// <summary>Gets the bytes the buffer has room for.</summary>
    public long CapacityBytes { get; }

    /// <summary>Views the elements as <typeparamref name="T"/>, which must match <see cref="ElementType"/>.</summary>
    public Span<T> AsSpan<T>()
        where T : unmanaged
    {
        _owner.ThrowIfNotLeased();
        CheckType<T>();
        return new Span<T>(_data, ElementCount);
    }

    /// <summary>Views one sample's elements (for a variable-length field, its whole padded row).</summary>
    public Span<T> Sample<T>(int slot)
        where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)slot, (uint)_shape[0], nameof(slot));
        return AsSpan<T>().Slice(slot * _elementsPerSample, _elementsPerSample);
    }

    /// <summary>
    /// Writes one sample of a variable-length field: <paramref name="values"/> (a whole number of steps), cut to the
    /// batch's padded length on the side <see cref="SequencePadding.Truncation"/> says, placed on the side
    /// <see cref="SequencePadding.Side"/> says, the rest filled with <see cref="TensorSpec.PadValue"/>. The mask and
    /// lengths tensors then follow the length written.
    /// </summary>
    /// <exception cref="InvalidDataException">The values are not a whole number of steps, or too long under <see cref="Truncation.Reject"/>.</exception>
    public void WriteSequence<T>(int slot, ReadOnlySpan<T> values)
        where T : unmanaged
    {
        var step = Spec.ElementsPerStep;
        if (values.Length % step != 0)
        {
            throw new InvalidDataException($"Tensor '{Name}': {values.Length} elements are not a whole number of steps of {step}.");
        }

        var destination = SequenceRow<T>(slot, values.Length / step, out var skip);
        values.Slice(skip * step, destination.Length).CopyTo(destination);
    }

    /// <summary>
    /// Places a sequence of <paramref name="steps"/> steps in <paramref name="slot"/>: fills the padding, records the
    /// length, and returns where the kept steps go; <paramref name="skip"/> is how many leading steps truncation drops.
    /// </summary>
    internal Span<T> SequenceRow<T>(int slot, int steps, out int skip)
        where T : unmanaged
    {
        if (_lengths is null)
        {
            throw new InvalidOperationException($"Tensor '{Name}' has a fixed shape: write it through Sample<T>(slot).");
        }

        var row = Sample<T>(slot);
        var step = Spec.ElementsPerStep;
        var length = _shape[1];
        var padding = Spec.EffectivePadding;
        skip = 0;

        // Samples are cut to the maximum length; the batch may be padded past it (rounded up to a multiple).
        var kept = Math.Min(length, padding.MaxLength);
        if (steps > kept)
        {
            if (padding.Truncation == Truncation.Reject)
            {
                throw new InvalidDataException($"Tensor '{Name}': the sample has {steps} steps; this batch holds {kept} (SequencePadding.Truncation is Reject).");
            }

            skip = padding.Truncation == Truncation.Left ? steps - kept : 0;
            steps = kept;
        }

        var pad = PadValue<T>();
        var padSteps = length - steps;
        if (padding.Side == PaddingSide.Right)
        {
            row[(steps * step)..].Fill(pad);
            row = row[..(steps * step)];
        }
        else
        {
            row[..(padSteps * step)].Fill(pad);
            row = row[(padSteps * step)..];
        }

        _lengths[slot] = steps;
        return row;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Span<T> SlotUnchecked<T>(int slot)
        where T : unmanaged =>
        new((T*)_data + ((long)slot * _elementsPerSample), _elementsPerSample);

    internal void SetCount(int count) => _shape[0] = count;

    /// <summary>Sets a variable-length field's padded length for this batch.</summary>
    internal void SetLength(int length)
    {
        _shape[1] = length;
        _elementsPerSample = length * Spec.ElementsPerStep;
    }

    internal byte* Data => _data;

    private void CheckType<T>()
        where T : unmanaged
    {
        if (ElementTypes.Of<T>() != ElementType)
        {
            throw new InvalidOperationException($"Tensor '{Name}' holds {ElementType}, not {typeof(T).Name}.");
        }
    }

    private T PadValue<T>()
        where T : unmanaged
    {
        var value = Spec.PadValue;
        if (typeof(T) == typeof(float)) return (T)(object)(float)value;
        if (typeof(T) == typeof(double)) return (T)(object)value;
        if (typeof(T) == typeof(Half)) return (T)(object)(Half)value;
        if (typeof(T) == typeof(byte)) return (T)(object)(byte)value;
        if (typeof(T) == typeof(sbyte)) return (T)(object)(sbyte)value;
        if (typeof(T) == typeof(short)) return (T)(object)(short)value;
        if (typeof(T) == typeof(int)) return (T)(object)(int)value;
        if (typeof(T) == typeof(long)) return (T)(object)(long)value;
        if (typeof(T) == typeof(bool)) return (T)(object)(value != 0);
        throw new NotSupportedException($"{typeof(T)} is not a tensor element type.");
    }
}
