using System.Globalization;
using ParquetSharp;
using StreamingLoader.Parquet;

namespace StreamingLoader.Shards.Tests;

/// <summary>
/// Parquet shards written by ParquetSharp with a column of each type a dataset maps, every value derived from the
/// row's id so that a batch proves its rows: a number of each physical type, a fixed-size list, a variable-length list,
/// a string and a binary value.
/// </summary>
internal static class ColumnTypes
{
    public const int VectorLength = 4;

    /// <summary>A tensor for each column the Parquet and Arrow test files share, of every kind.</summary>
    public static TensorColumns Mapping() => new TensorColumns()
        .Tensor("id", "labels")
        .Tensor("score", elementType: ElementType.Float32)
        .Tensor("flag")
        .Tensor("small", elementType: ElementType.Int64)
        .Tensor("vector")
        .Tensor("tokens", new TensorSpec("input_ids", ElementType.Int64, [TensorSpec.Variable])
        {
            PadValue = -1, MaskName = "attention_mask", LengthsName = "lengths", Padding = new SequencePadding { MultipleOf = 4 },
        })
        .Text("caption")
        .Binary("blob");

    public static float Score(long id) => id * 0.5f;

    public static bool Flag(long id) => id % 3 == 0;

    public static int Small(long id) => (int)(id % 1000) - 500;

    public static float[] Vector(long id) => [.. Enumerable.Range(0, VectorLength).Select(j => (id * 10f) + j)];

    /// <summary>1 to 7 token ids.</summary>
    public static int[] Tokens(long id) => [.. Enumerable.Range(0, (int)(id % 7) + 1).Select(j => (int)id + j)];

    public static string Caption(long id) => string.Create(CultureInfo.InvariantCulture, $"row {id}: naïve café {new string('x', (int)(id % 5))}");

    public static byte[] Blob(long id) => System.Text.Encoding.UTF8.GetBytes($"blob-{id}").Concat(new byte[] { 0, 255, (byte)id }).ToArray();

    /// <summary>Writes <paramref name="shards"/> shards of <paramref name="rows"/> rows in row groups of <paramref name="rowGroup"/>; returns the folder.</summary>
    public static string Write(int shards, int rows, int rowGroup, string? folder = null, Func<long, int[]>? tokens = null)
    {
        folder ??= Directory.CreateTempSubdirectory("streamingloader-types-").FullName;
        tokens ??= Tokens;
        for (var s = 0; s < shards; s++)
        {
            Column[] columns =
            [
                new Column<long>("id"), new Column<double>("score"), new Column<bool>("flag"), new Column<int>("small"),
                new Column<float[]>("vector"), new Column<int[]>("tokens"), new Column<string>("caption"), new Column<byte[]>("blob"),
            ];
            using var writer = new ParquetFileWriter(Path.Combine(folder, $"types-{s:D2}.parquet"), columns, Compression.Snappy);
            for (var start = 0; start < rows; start += rowGroup)
            {
                var ids = Enumerable.Range(start, Math.Min(rowGroup, rows - start)).Select(r => ((long)s * rows) + r).ToArray();
                using var group = writer.AppendRowGroup();
                Write(group, ids, id => id);
                Write(group, ids, id => (double)Score(id));
                Write(group, ids, Flag);
                Write(group, ids, Small);
                Write(group, ids, Vector);
                Write(group, ids, tokens);
                Write(group, ids, Caption);
                Write(group, ids, Blob);
            }

            writer.Close();
        }

        return folder;
    }

    private static void Write<T>(RowGroupWriter group, long[] ids, Func<long, T> value)
    {
        using var column = group.NextColumn().LogicalWriter<T>();
        column.WriteBatch([.. ids.Select(value)]);
    }
}
