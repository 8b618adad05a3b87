namespace StreamingLoader;

/// <summary>The element type of a batch tensor, named as tensor libraries name them.</summary>
public enum ElementType
{
    /// <summary>32-bit float (torch.float32).</summary>
    Float32,

    /// <summary>64-bit float (torch.float64).</summary>
    Float64,

    /// <summary>16-bit float (torch.float16).</summary>
    Float16,

    /// <summary>Unsigned byte (torch.uint8).</summary>
    UInt8,

    /// <summary>Signed byte (torch.int8).</summary>
    Int8,

    /// <summary>16-bit integer (torch.int16).</summary>
    Int16,

    /// <summary>32-bit integer (torch.int32).</summary>
    Int32,

    /// <summary>64-bit integer (torch.int64, PyTorch's label type).</summary>
    Int64,

    /// <summary>Boolean, one byte (torch.bool).</summary>
    Bool,
}

/// <summary>Maps .NET element types to <see cref="ElementType"/>.</summary>
public static class ElementTypes
{
    /// <summary>The <see cref="ElementType"/> of <typeparamref name="T"/>.</summary>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not a tensor element type.</exception>
    public static ElementType Of<T>()
        where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return ElementType.Float32;
        if (typeof(T) == typeof(double)) return ElementType.Float64;
        if (typeof(T) == typeof(Half)) return ElementType.Float16;
        if (typeof(T) == typeof(byte)) return ElementType.UInt8;
        if (typeof(T) == typeof(sbyte)) return ElementType.Int8;
        if (typeof(T) == typeof(short)) return ElementType.Int16;
        if (typeof(T) == typeof(int)) return ElementType.Int32;
        if (typeof(T) == typeof(long)) return ElementType.Int64;
        if (typeof(T) == typeof(bool)) return ElementType.Bool;
        throw new NotSupportedException($"{typeof(T)} is not a tensor element type.");
    }

    /// <summary>The size in bytes of one element.</summary>
    public static int SizeOf(ElementType type) => type switch
    {
        ElementType.Float32 or ElementType.Int32 => 4,
        ElementType.Float64 or ElementType.Int64 => 8,
        ElementType.Float16 or ElementType.Int16 => 2,
        ElementType.UInt8 or ElementType.Int8 or ElementType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}
