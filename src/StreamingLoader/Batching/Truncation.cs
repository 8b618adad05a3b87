namespace StreamingLoader.Batching;

/// <summary>What happens to a sample longer than <see cref="SequencePadding.MaxLength"/>.</summary>
public enum Truncation
{
    /// <summary>The sample is rejected with its length and the maximum (a dead letter under <see cref="ErrorPolicy.Skip"/>).</summary>
    Reject,

    /// <summary>The steps past the maximum are dropped from the end.</summary>
    Right,

    /// <summary>The steps before the last <see cref="SequencePadding.MaxLength"/> are dropped from the start.</summary>
    Left,
}
