namespace StreamingLoader.Internal;

/// <summary>
/// The collator of <see cref="Collate.Packed{T}"/>. Its batches are written a chunk at a time from the stream the
/// <see cref="SequencePacker{T}"/> cut: the documents of the chunk from its <see cref="Chunk{T}.PackOffset"/>, each
/// followed by the end-of-text token, row after row.
/// </summary>
internal sealed class PackingCollator<T>(TokenSource<T> tokens, SequencePacking packing) : Collator<T>
{
    public SequencePacking Packing => packing;

    /// <summary>The number of stream steps a document takes: its tokens and the end-of-text token.</summary>
    public int StreamLength(in T document) => tokens(document).Length + 1;

    public override BatchLayout GetLayout(T firstSample) =>
        new(
            new TensorSpec(packing.InputIdsName, ElementType.Int64, [packing.Length]),
            new TensorSpec(packing.PositionIdsName, ElementType.Int64, [packing.Length]),
            new TensorSpec(packing.DocumentIdsName, ElementType.Int64, [packing.Length]),
            new TensorSpec(packing.MaskName, ElementType.Int64, [packing.Length]));

    public override void Write(in T sample, int slot, Batch batch) =>
        throw new InvalidOperationException("Packed batches are written a chunk at a time.");

    /// <summary>Writes the chunk's rows into <paramref name="batch"/>; returns how many.</summary>
    public int WriteChunk(Chunk<T> chunk, Batch batch)
    {
        var length = packing.Length;
        var rows = chunk.PackedRows;
        batch.Reset(chunk.Epoch, rows);
        var ids = batch.TensorAt(0).AsSpan<long>();
        var positions = batch.TensorAt(1).AsSpan<long>();
        var documents = batch.TensorAt(2).AsSpan<long>();
        var mask = batch.TensorAt(3).AsSpan<long>();
        var indices = batch.IndexBuffer;
        var end = rows * length;
        int at = 0, document = 0, offset = chunk.PackOffset, position = 0, inRow = 0;
        while (at < end && document < chunk.Count)
        {
            if (at % length == 0)
            {
                // A row starts: its documents and positions count from 0.
                indices[at / length] = chunk.Indices[document];
                (position, inRow) = (0, 0);
            }

            var source = tokens(chunk.Items[document]);
            var take = Math.Min(source.Length + 1 - offset, length - (at % length));
            for (var k = 0; k < take; k++, at++, offset++)
            {
                ids[at] = offset < source.Length ? source[offset] : packing.EndOfText;
                positions[at] = position++;
                documents[at] = inRow;
                mask[at] = 1;
            }

            if (offset == source.Length + 1)
            {
                (document, offset, position) = (document + 1, 0, 0);
                inRow++;
            }
        }

        // Only the epoch's last row runs out of documents.
        ids[at..end].Fill(packing.PadValue ?? packing.EndOfText);
        positions[at..end].Clear();
        documents[at..end].Fill(-1);
        mask[at..end].Clear();
        return rows;
    }
}
