using System.Runtime.CompilerServices;

namespace StreamingLoader;

/// <summary>
/// One tensor of a batch: pinned, 64-byte-aligned native memory with its shape and element type, so any
/// tensor library can wrap <see cref="Pointer"/> without a copy (for example <c>torch::from_blob</c>).
/// </summary>
/// <remarks>Valid only until its <see cref="Batch"/> is disposed: the memory then goes back to the pool.</remarks>
public sealed unsafe class BatchTensor
{
    private readonly Batch _owner;
    private readonly int[] _shape;
    private readonly int _elementsPerSample;
    private readonly byte* _data;

    internal BatchTensor(Batch owner, ElementType type, IReadOnlyList<int> sampleShape, int elementsPerSample, byte* data, long capacityBytes)
    {
        _owner = owner;
        ElementType = type;
        _shape = [0, .. sampleShape];
        _elementsPerSample = elementsPerSample;
        _data = data;
        CapacityBytes = capacityBytes;
    }

    /// <summary>Gets the element type.</summary>
    public ElementType ElementType { get; }

    /// <summary>Gets the shape: [samples in this batch, ..sample shape].</summary>
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

    /// <summary>Gets the bytes the buffer can hold (a full batch).</summary>
    public long CapacityBytes { get; }

    /// <summary>Views the elements as <typeparamref name="T"/>, which must match <see cref="ElementType"/>.</summary>
    public Span<T> AsSpan<T>()
        where T : unmanaged
    {
        _owner.ThrowIfNotLeased();
        if (ElementTypes.Of<T>() != ElementType)
        {
            throw new InvalidOperationException($"This tensor holds {ElementType}, not {typeof(T).Name}.");
        }

        return new Span<T>(_data, ElementCount);
    }

    /// <summary>Views one sample's elements.</summary>
    public Span<T> Sample<T>(int slot)
        where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)slot, (uint)_shape[0], nameof(slot));
        return AsSpan<T>().Slice(slot * _elementsPerSample, _elementsPerSample);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal Span<T> SlotUnchecked<T>(int slot)
        where T : unmanaged =>
        new((T*)_data + ((long)slot * _elementsPerSample), _elementsPerSample);

    internal void SetCount(int count) => _shape[0] = count;

    internal byte* Data => _data;
}
