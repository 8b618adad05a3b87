namespace StreamingLoader.Internal;

/// <summary>What a batch tensor holds.</summary>
internal enum TensorKind
{
    /// <summary>Samples' data, written by the collator.</summary>
    Data,

    /// <summary>1 where a variable-length field has data, 0 where it is padding.</summary>
    Mask,

    /// <summary>Each sample's length in a variable-length field.</summary>
    Lengths,
}
