using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;

namespace StreamingLoader.Shards.Tests;

/// <summary>
/// Arrow IPC shards written by Apache.Arrow with a column of each type a dataset maps, values derived from the row's id
/// as in <see cref="ColumnTypes"/> (so a batch proves its rows), and a timestamp column ("when"), a type that maps to
/// no tensor.
/// </summary>
internal static class ArrowShards
{
    /// <summary>
    /// Writes <paramref name="shards"/> files (or streams) of <paramref name="rows"/> rows in record batches of
    /// <paramref name="batchRows"/>; returns the folder. <paramref name="batchEnds"/> gets each file's batch end offsets.
    /// </summary>
    public static string Write(int shards, int rows, int batchRows, bool stream = false, string? folder = null, Dictionary<string, List<long>>? batchEnds = null)
    {
        folder ??= Directory.CreateTempSubdirectory("streamingloader-arrow-").FullName;
        for (var s = 0; s < shards; s++)
        {
            var name = $"types-{s:D2}.{(stream ? "arrows" : "arrow")}";
            using var memory = new MemoryStream();
            ArrowStreamWriter? writer = null;
            var ends = new List<long>();
            for (var start = 0; start < rows; start += batchRows)
            {
                var batch = Batch([.. Enumerable.Range(start, Math.Min(batchRows, rows - start)).Select(r => ((long)s * rows) + r)]);
                writer ??= stream ? new ArrowStreamWriter(memory, batch.Schema, leaveOpen: true) : new ArrowFileWriter(memory, batch.Schema, leaveOpen: true);
                writer.WriteRecordBatchAsync(batch).GetAwaiter().GetResult();
                ends.Add(memory.Position);
            }

            writer!.WriteEndAsync().GetAwaiter().GetResult();
            writer.Dispose();
            File.WriteAllBytes(Path.Combine(folder, name), memory.ToArray());
            batchEnds?.Add(name, ends);
        }

        return folder;
    }

    /// <summary>
    /// Writes <paramref name="shards"/> Arrow IPC files of the rows <see cref="TestData.WriteShards"/> writes as Parquet
    /// (x: <paramref name="features"/> float32 as a fixed-size list, <see cref="TestData.Features"/> unless given; y: the
    /// row as int64), in record batches of <paramref name="batchRows"/>; returns the folder.
    /// </summary>
    public static string WriteTensors(int shards, int rowsPerShard, int batchRows, int features = TestData.Features, string? folder = null)
    {
        folder ??= Directory.CreateTempSubdirectory("streamingloader-arrow-").FullName;
        for (var s = 0; s < shards; s++)
        {
            using var file = File.Create(Path.Combine(folder, $"part-{s:D3}.arrow"));
            using var writer = new ArrowFileWriter(file, new Schema([new Field("x", new FixedSizeListType(FloatType.Default, features), false), new Field("y", Int64Type.Default, false)], null));
            for (var start = 0; start < rowsPerShard; start += batchRows)
            {
                var x = new FixedSizeListArray.Builder(FloatType.Default, features);
                var y = new Int64Array.Builder();
                for (var row = (long)(s * rowsPerShard) + start; row < (s * rowsPerShard) + Math.Min(rowsPerShard, start + batchRows); row++)
                {
                    x.Append();
                    for (var j = 0; j < features; j++)
                    {
                        ((FloatArray.Builder)x.ValueBuilder).Append((row * 1000f) + j);
                    }

                    y.Append(row);
                }

                writer.WriteRecordBatch(new RecordBatch.Builder().Append("x", false, x.Build()).Append("y", false, y.Build()).Build());
            }

            writer.WriteEnd();
        }

        return folder;
    }

    public static RecordBatch Batch(long[] ids)
    {
        var vector = new FixedSizeListArray.Builder(FloatType.Default, ColumnTypes.VectorLength);
        var tokens = new ListArray.Builder(Int32Type.Default);
        var caption = new StringArray.Builder();
        var blob = new BinaryArray.Builder();
        var flag = new BooleanArray.Builder();
        var when = new TimestampArray.Builder();
        foreach (var id in ids)
        {
            vector.Append();
            ((FloatArray.Builder)vector.ValueBuilder).AppendRange(ColumnTypes.Vector(id));
            tokens.Append();
            ((Int32Array.Builder)tokens.ValueBuilder).AppendRange(ColumnTypes.Tokens(id));
            caption.Append(ColumnTypes.Caption(id));
            blob.Append(ColumnTypes.Blob(id).AsSpan());
            flag.Append(ColumnTypes.Flag(id));
            when.Append(DateTimeOffset.UnixEpoch.AddSeconds(id));
        }

        IArrowArray[] arrays =
        [
            new Int64Array.Builder().AppendRange(ids).Build(),
            new DoubleArray.Builder().AppendRange(ids.Select(id => (double)ColumnTypes.Score(id))).Build(),
            flag.Build(),
            new Int32Array.Builder().AppendRange(ids.Select(ColumnTypes.Small)).Build(),
            vector.Build(),
            tokens.Build(),
            caption.Build(),
            blob.Build(),
            new UInt8Array.Builder().AppendRange(ids.Select(id => (byte)id)).Build(),
            when.Build(),
        ];
        string[] names = ["id", "score", "flag", "small", "vector", "tokens", "caption", "blob", "tiny", "when"];
        var schema = new Schema([.. names.Select((n, i) => new Field(n, arrays[i].Data.DataType, nullable: false))], null);
        return new RecordBatch(schema, arrays, ids.Length);
    }
}
