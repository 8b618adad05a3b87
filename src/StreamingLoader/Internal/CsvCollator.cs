namespace StreamingLoader.Internal;

/// <summary>The collator of <see cref="Collate.Csv(IReadOnlyList{string}, string, char)"/>: chosen columns of each row straight into the batch.</summary>
internal sealed class CsvCollator(byte delimiter, int features, string[]? names, int[]? fixedMap) : Collator<TextLine>
{
    public override BatchLayout GetLayout(TextLine firstSample) => new(ElementType.Float32, [features], ElementType.Int64, []);

    public override void Write(in TextLine sample, int slot, Batch batch)
    {
        var map = fixedMap ?? MapFor(sample);
        var parser = new CsvRowParser(delimiter, map);
        try
        {
            parser.Parse(sample.Utf8.Span, batch.Features.SlotUnchecked<float>(slot), out batch.Labels.SlotUnchecked<long>(slot)[0]);
        }
        catch (FormatException ex)
        {
            throw new InvalidDataException($"{sample.Path}:{sample.LineNumber}: {ex.Message}", ex);
        }
    }

    /// <summary>The column map of the sample's file, from its header, worked out once per file.</summary>
    private int[] MapFor(in TextLine sample)
    {
        var file = sample.File ?? throw new InvalidDataException($"{sample.Path}:{sample.LineNumber}: columns are chosen by name from each file's header, and this line is not from a followed file (choose columns by index).");
        if (file.HeaderCache is int[] cached)
        {
            return cached;
        }

        var header = file.Header ?? throw new InvalidDataException($"{sample.Path}: columns are chosen by name but the file has no header (follow it with TailOptions.HasHeader).");
        var columns = CsvRowParser.SplitHeader(header, delimiter);
        var indices = new int[names!.Length];
        for (var i = 0; i < names.Length; i++)
        {
            indices[i] = Array.IndexOf(columns, names[i]);
            if (indices[i] < 0)
            {
                throw new InvalidDataException($"{sample.Path}:1: the header has no column \"{names[i]}\" (it has {string.Join(", ", columns.Select(c => $"\"{c}\""))}).");
            }
        }

        var map = CsvRowParser.ColumnMap(indices);
        file.HeaderCache = map;
        return map;
    }
}
