using StreamingLoader.Batching;

namespace StreamingLoader.Tests.Structured;

/// <summary>A tokenized sample: its id, token ids of any length and a class label.</summary>
internal readonly record struct Document(long Id, int[] Tokens, long Label)
{
    /// <summary>Document i: length from <paramref name="length"/>, token j = i * 1000 + j, label i % 7.</summary>
    public static Document Make(int i, Func<int, int> length) =>
        new(i, [.. Enumerable.Range(0, length(i)).Select(j => (i * 1000) + j)], i % 7);

    /// <summary>Lengths spread over [min, max] by a fixed hash of the index.</summary>
    public static Func<int, int> Spread(int min, int max) => i => min + (int)(((uint)i * 2654435761u) % (uint)(max - min + 1));

    public static Document[] Many(int count, Func<int, int> length) => [.. Enumerable.Range(0, count).Select(i => Make(i, length))];

    /// <summary>The collator most text tests use: Int64 input_ids padded with -1, a mask, lengths and the label.</summary>
    public static FieldCollator<Document> Collator(SequencePadding? padding = null) =>
        Collate.Fields<Document>()
            .Sequence("input_ids", d => d.Tokens, padding, padValue: -1, maskName: "attention_mask", lengthsName: "lengths", elementType: ElementType.Int64)
            .Scalar("labels", d => d.Label);

    /// <summary>Each delivered row of input_ids with its padding removed, by document id.</summary>
    public static Dictionary<long, long[]> Rows(Batch batch)
    {
        var rows = new Dictionary<long, long[]>();
        var ids = batch["input_ids"];
        var lengths = batch["lengths"].AsSpan<long>();
        var right = ids.Spec.EffectivePadding.Side == PaddingSide.Right;
        for (var s = 0; s < batch.Count; s++)
        {
            var row = ids.Sample<long>(s);
            var length = (int)lengths[s];
            rows[batch.SampleIndices[s]] = (right ? row[..length] : row[(row.Length - length)..]).ToArray();
        }

        return rows;
    }
}
