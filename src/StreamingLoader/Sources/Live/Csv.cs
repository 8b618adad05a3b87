using System.Text;

namespace StreamingLoader;

/// <summary>
/// CSV rows (one record per line, as <see cref="FileTail.Follow"/> reads them) parsed straight into batches:
/// chosen columns become Float32 features [columns], one column the Int64 label. Fields may be quoted
/// (<c>"1.5"</c>, with <c>""</c> for a quote inside); a quoted line break is not supported, since lines are records.
/// A malformed row fails with its file, line and column (or is a dead letter under <see cref="ErrorPolicy.Skip"/>).
/// </summary>
/// <example>
/// <code>
/// var rows = FileTail.Follow("rows.csv", new TailOptions { HasHeader = true });
/// await using var loader = Pipeline.From(rows)
///     .Build(Csv.Collator(["f0", "f1", "f2"], "label"), new LoaderOptions { BatchSize = 256 });
/// </code>
/// </example>
public static class Csv
{
    /// <summary>
    /// Columns chosen by name in each file's header (follow with <see cref="TailOptions.HasHeader"/>): a rotated
    /// file may order its columns differently.
    /// </summary>
    public static Collator<TailLine> Collator(IReadOnlyList<string> featureColumns, string labelColumn, char delimiter = ',')
    {
        ArgumentNullException.ThrowIfNull(featureColumns);
        ArgumentOutOfRangeException.ThrowIfZero(featureColumns.Count, nameof(featureColumns));
        ArgumentException.ThrowIfNullOrEmpty(labelColumn);
        var names = featureColumns.Append(labelColumn).ToArray();
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Length)
        {
            throw new ArgumentException("A column is named twice among the features and the label.", nameof(featureColumns));
        }

        return new CsvCollator(CheckDelimiter(delimiter), featureColumns.Count, names, null);
    }

    /// <summary>Columns chosen by zero-based index, for files without a header.</summary>
    public static Collator<TailLine> Collator(IReadOnlyList<int> featureColumns, int labelColumn, char delimiter = ',')
    {
        ArgumentNullException.ThrowIfNull(featureColumns);
        ArgumentOutOfRangeException.ThrowIfZero(featureColumns.Count, nameof(featureColumns));
        ArgumentOutOfRangeException.ThrowIfNegative(labelColumn);
        int[] indices = [.. featureColumns, labelColumn];
        if (indices.Any(i => i < 0) || indices.Distinct().Count() != indices.Length)
        {
            throw new ArgumentException("Column indices must be non-negative and distinct, the label's included.", nameof(featureColumns));
        }

        return new CsvCollator(CheckDelimiter(delimiter), featureColumns.Count, null, CsvRowParser.ColumnMap(indices));
    }

    private static byte CheckDelimiter(char delimiter) =>
        delimiter is > (char)0 and < (char)128 and not '"' and not '\n' and not '\r'
            ? (byte)delimiter
            : throw new ArgumentOutOfRangeException(nameof(delimiter), delimiter, "The delimiter must be an ASCII character other than a quote or a line break.");

    private sealed class CsvCollator(byte delimiter, int features, string[]? names, int[]? fixedMap) : Collator<TailLine>
    {
        public override BatchLayout GetLayout(TailLine firstSample) => new(ElementType.Float32, [features], ElementType.Int64, []);

        public override void Write(in TailLine sample, int slot, Batch batch)
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
        private int[] MapFor(in TailLine sample)
        {
            var file = sample.File;
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

    internal static string Decode(ReadOnlySpan<byte> utf8) => Encoding.UTF8.GetString(utf8);
}
