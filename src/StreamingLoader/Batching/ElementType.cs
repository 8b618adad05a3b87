namespace StreamingLoader.Batching;

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
