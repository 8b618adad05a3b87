using System.CommandLine;
using System.Globalization;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using StreamingLoader.Batching;
using StreamingLoader.Parquet;
using StreamingLoader.Shards;

namespace StreamingLoader.Cli;

/// <summary>
/// <c>streamingloader bench arrow</c>: the rows of <c>bench parquet</c> as Arrow IPC files (DIR/arrow/*.arrow, record
/// batches of 16,384 like the row groups), read memory-mapped through the same sharded sampler, shuffled, batch 256.
/// </summary>
internal static partial class BenchCommand
{
    private const int ArrowBatchRows = 16_384;

    private static Command CreateArrow()
    {
        var data = new Option<DirectoryInfo>("--data") { Description = "Directory holding arrow/*.arrow (or parquet/*.parquet to convert with --generate).", Required = true };
        var batch = BatchOption();
        var workers = WorkersOption();
        var json = JsonOption();
        var generate = new Option<bool>("--generate") { Description = "Write DIR/arrow/*.arrow from the rows of DIR/parquet/*.parquet (bench parquet --generate), then exit." };
        var window = new Option<int>("--window") { Description = "Record batches shuffled together.", DefaultValueFactory = _ => 4 };
        var command = new Command("arrow", "Arrow IPC files DIR/arrow/*.arrow of x: fixed_size_list<float32>[32], y: int64; record batches shuffled, rows shuffled in windows.") { data, batch, workers, json, generate, window };
        command.SetAction(async (result, ct) =>
        {
            var root = result.GetValue(data)!.FullName;
            var folder = Path.Combine(root, "arrow");
            if (result.GetValue(generate))
            {
                await ConvertToArrowAsync(Path.Combine(root, "parquet"), folder, ct);
                return 0;
            }

            if (!Directory.Exists(folder))
            {
                await Console.Error.WriteLineAsync($"error: {folder} does not exist (streamingloader bench arrow --data DIR --generate writes it from DIR/parquet).");
                return 2;
            }

            var options = new LoaderOptions { Workers = result.GetValue(workers), Seed = 1, Name = "bench-arrow" };
            var sharding = new ShardingOptions { World = World.Single, BatchSize = result.GetValue(batch), WindowUnits = result.GetValue(window) };
            await using var source = await ShardSource.OpenAsync(folder, new ShardSourceOptions { Suffix = ".arrow" }, ct);
            ArrowDataset? dataset = null;
            DataLoader Build()
            {
                dataset?.Dispose();
                var datasetOptions = new ParquetDatasetOptions { DecodedUnits = 4 * sharding.WindowUnits * Math.Max(2, options.Workers) };
                dataset = ArrowDataset.OpenAsync(source, new TensorColumns("x", "y"), datasetOptions, ct).GetAwaiter().GetResult();
                return Pipeline.From(dataset, dataset.CreateSampler(sharding)).Build(Collate.Columns(dataset), options);
            }

            try
            {
                var figures = await RunAsync("arrow", Build, ct);
                await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"record batches: {dataset!.RowsPerUnit.Count} in {source.Shards.Count} shards, {dataset.RecordBatchesRead} read in the last timed epoch"));
                Report(figures, result.GetValue(json));
            }
            finally
            {
                if (dataset is not null)
                {
                    await dataset.DisposeAsync();
                }
            }

            return 0;
        });
        return command;
    }

    /// <summary>Each Parquet shard's rows, in order, as an Arrow IPC file of the same name.</summary>
    private static async Task ConvertToArrowAsync(string parquet, string arrow, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(arrow);
        await using var source = await ShardSource.OpenAsync(parquet, new ShardSourceOptions { Suffix = ".parquet" }, cancellationToken);
        await using var dataset = await ParquetDataset.OpenAsync(source, new TensorColumns("x", "y"), cancellationToken: cancellationToken);
        // The shards split the rows as bench parquet --generate does (shard s holds rows [n·s/S, n·(s+1)/S)).
        for (var s = 0; s < source.Shards.Count; s++)
        {
            var first = (int)((long)dataset.Count * s / source.Shards.Count);
            var count = (int)((long)dataset.Count * (s + 1) / source.Shards.Count) - first;
            await using var file = File.Create(Path.Combine(arrow, string.Create(CultureInfo.InvariantCulture, $"part-{s:D5}.arrow")));
            ArrowFileWriter? writer = null;
            for (var start = 0; start < count; start += ArrowBatchRows)
            {
                var n = Math.Min(ArrowBatchRows, count - start);
                var x = new FixedSizeListArray.Builder(FloatType.Default, ParquetFeatures);
                var y = new Int64Array.Builder();
                for (var r = 0; r < n; r++)
                {
                    var row = dataset.GetItem(first + start + r);
                    x.Append();
                    ((FloatArray.Builder)x.ValueBuilder).AppendRange(row.Values<float>("x").ToArray());
                    y.Append(row.Values<long>("y")[0]);
                }

                var batch = new RecordBatch.Builder().Append("x", false, x.Build()).Append("y", false, y.Build()).Build();
                writer ??= new ArrowFileWriter(file, batch.Schema);
                await writer.WriteRecordBatchAsync(batch, cancellationToken);
            }

            if (writer is not null)
            {
                await writer.WriteEndAsync(cancellationToken);
                writer.Dispose();
            }
        }

        await Console.Error.WriteLineAsync($"wrote {dataset.Count:N0} rows of {parquet} as {source.Shards.Count} Arrow IPC files in {arrow}");
    }
}
