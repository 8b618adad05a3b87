namespace StreamingLoader.Batching;

/// <summary>
/// How <see cref="Collate.Packed{T}"/> packs documents into rows: every document's tokens followed by an end-of-text
/// token, one stream, cut into rows of <see cref="Length"/> tokens (language-model pretraining as Mosaic and Hugging
/// Face pack it). Only the epoch's last row has padding.
/// </summary>
/// <remarks>
/// Each batch holds Int64 [rows, Length] tensors: <see cref="InputIdsName"/> (the tokens), <see cref="PositionIdsName"/>
/// (counting from 0 at each document's start and at each row's start, so a position never reaches across a row),
/// <see cref="DocumentIdsName"/> (0, 1, 2… for the documents of a row, in order, -1 for padding: equal ids attend to
/// each other in a block-diagonal mask) and <see cref="MaskName"/> (1 for tokens, 0 for the last row's padding).
/// A batch's <see cref="Batch.SampleIndices"/> are the documents its rows start in. Defaults: <see cref="Length"/>
/// 128, <see cref="EndOfText"/> 50256 (GPT-2's), <see cref="PadValue"/> the end-of-text token.
/// </remarks>
public sealed class SequencePacking
{
    private int _length = 128;

    /// <summary>Gets or sets the tokens per row; at least 1.</summary>
    public int Length
    {
        get => _length;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value, nameof(Length));
            _length = value;
        }
    }

    /// <summary>Gets or sets the token written after each document.</summary>
    public long EndOfText { get; set; } = 50256;

    /// <summary>Gets or sets the token of the last row's padding; null for <see cref="EndOfText"/>.</summary>
    public long? PadValue { get; set; }

    /// <summary>Gets or sets the name of the token tensor.</summary>
    public string InputIdsName { get; set; } = "input_ids";

    /// <summary>Gets or sets the name of the positions tensor.</summary>
    public string PositionIdsName { get; set; } = "position_ids";

    /// <summary>Gets or sets the name of the per-row document numbers tensor.</summary>
    public string DocumentIdsName { get; set; } = "document_ids";

    /// <summary>Gets or sets the name of the attention mask (0 on padding).</summary>
    public string MaskName { get; set; } = "attention_mask";

    internal SequencePacking Clone() => (SequencePacking)MemberwiseClone();
}
