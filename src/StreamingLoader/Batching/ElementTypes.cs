namespace StreamingLoader.Batching;

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
