namespace StreamingLoader.Batching;

/// <summary>The length a batch's variable-length field is padded to.</summary>
public enum PadTo
{
    /// <summary>The longest sample in the batch (rounded up to <see cref="SequencePadding.MultipleOf"/>).</summary>
    Longest,

    /// <summary>Always <see cref="SequencePadding.MaxLength"/> (rounded up to <see cref="SequencePadding.MultipleOf"/>): every batch has the same shape.</summary>
    MaxLength,
}
