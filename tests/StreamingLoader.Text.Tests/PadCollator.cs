using StreamingLoader.Batching;

namespace StreamingLoader.Text.Tests;

/// <summary>
/// A test's stand-in for the core's padding collator (issue 18, which the lead is building): token ids widened to
/// Int64 and padded with <see cref="PadId"/> (or cut) to a fixed <see cref="Length"/>, features [n, Length]; the
/// label (−1 when there is none) as Int64 [n]. It disposes each sample after copying its ids, which returns their
/// buffer to the pool.
/// </summary>
internal sealed class PadCollator(int length, long padId = 50256) : Collator<TokenizedText>
{
    public int Length => length;

    public long PadId => padId;

    public override BatchLayout GetLayout(TokenizedText firstSample) => new(ElementType.Int64, [length], ElementType.Int64, []);

    public override void Write(in TokenizedText sample, int slot, Batch batch)
    {
        try
        {
            var row = batch.Features.Sample<long>(slot);
            var ids = sample.Ids;
            var n = Math.Min(ids.Length, length);
            for (var i = 0; i < n; i++)
            {
                row[i] = ids[i];
            }

            row[n..].Fill(padId);
            batch.Labels.Sample<long>(slot)[0] = sample.Label ?? -1;
        }
        finally
        {
            sample.Dispose();
        }
    }

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
                    rows.Add((batch.Features.Sample<long>(i).ToArray(), batch.Labels.Sample<long>(i)[0]));
                }
            }
        }

        return rows;
    }
}
