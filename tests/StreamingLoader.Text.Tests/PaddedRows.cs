using StreamingLoader.Batching;

namespace StreamingLoader.Text.Tests;

/// <summary>
/// The collator the text tests read batches with: the core's <see cref="Collate.Fields{T}"/> over
/// <see cref="TokenizedText"/>, ids widened to Int64 and padded with end-of-text (or cut on the right) to a fixed
/// length, and the label (−1 when there is none). The loader disposes each sample once written, which returns its
/// buffer to the pool.
/// </summary>
internal static class PaddedRows
{
    public const long PadId = 50256;

    public static FieldCollator<TokenizedText> Collator(int length) =>
        Collate.Fields<TokenizedText>()
            .Sequence(
                "input_ids", t => t.Ids, new SequencePadding { PadTo = PadTo.MaxLength, MaxLength = length, Truncation = Truncation.Right },
                padValue: PadId, maskName: "attention_mask", elementType: ElementType.Int64)
            .Scalar("labels", t => t.Label ?? -1);

    /// <summary>Every row of every batch of one epoch, with its label, in delivery order.</summary>
    public static async Task<List<(long[] Row, long Label)>> ReadEpochAsync(DataLoader loader)
    {
        var rows = new List<(long[], long)>();
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                for (var i = 0; i < batch.Count; i++)
                {
                    rows.Add((batch["input_ids"].Sample<long>(i).ToArray(), batch["labels"].AsSpan<long>()[i]));
                }
            }
        }

        return rows;
    }
}
