using Apache.Arrow.Ipc;
using StreamingLoader.Parquet.Internal;
using StreamingLoader.Shards;
using StreamingLoader.Shards.Internal;

namespace StreamingLoader.Parquet;

/// <summary>
/// The rows of a set of Arrow IPC shards, files (<c>.arrow</c>, <c>.feather</c> v2) or streams (<c>.arrows</c>), local,
/// HTTP or S3 through a <see cref="ShardSource"/>, as a <see cref="ColumnarDataset"/> whose units are record batches.
/// Opening a file reads its footer and each record batch's header (by range when remote); a stream is read through
/// once to count its batches' rows. A shard on disk (or in the cache) is memory-mapped and its record batches read with
/// Apache.Arrow without copying their buffers: the projected columns point into the mapping.
/// </summary>
/// <remarks>
/// Columns map as in <see cref="TensorColumns"/>: int32, int64, float32, float64, uint8 and bool; fixed-size lists and
/// lists of those (not of bool); utf8 strings (text) and binary. Other types (large lists, dictionaries, structs,
/// timestamps, decimals) are described as <see cref="ColumnKind.Unsupported"/> and only fail when mapped. A record batch
/// of a stream is found by reading the batches before it (headers only when mapped).
/// </remarks>
/// <example>
/// <code>
/// await using var shards = await ShardSource.OpenAsync("s3://bucket/train", new ShardSourceOptions { Suffix = ".arrow" });
/// await using var dataset = await ArrowDataset.OpenAsync(shards, new TensorColumns("x", "y"));
/// var sampler = dataset.CreateSampler(new ShardingOptions { BatchSize = 256 }); // rank and world from torchrun's variables
/// await using var loader = Pipeline.From(dataset, sampler).Build(Collate.Columns(dataset), new LoaderOptions { Seed = 42 });
/// </code>
/// </example>
public sealed class ArrowDataset : ColumnarDataset
{
    private readonly ArrowLayout[] _layouts;
    private readonly (int Shard, int Batch)[] _unitPlace;

    private ArrowDataset(ShardSource source, TensorColumns columns, ResolvedColumn[] resolved, IReadOnlyList<ColumnDescription> described, ArrowLayout[] layouts, List<int> rows, (int, int)[] places, ParquetDatasetOptions options)
        : base(source, columns, resolved, described, rows, [.. places.Select(p => p.Item1)], options.DecodedUnits, options.DecodeAhead)
    {
        _layouts = layouts;
        _unitPlace = places;
    }

    /// <summary>Gets how many record batches were read so far (a record batch per sample would show here).</summary>
    public long RecordBatchesRead => UnitsDecoded;

    /// <summary>
    /// Opens the Arrow IPC shards of <paramref name="source"/>: reads each file's footer and record-batch headers (a
    /// stream's batches) and checks that every shard has the projected columns, each of one type that fits its tensor.
    /// </summary>
    /// <param name="source">The shards.</param>
    /// <param name="columns">The columns to read and what they become; null reads every column that maps to a tensor, named as the column.</param>
    /// <param name="options">How many read record batches to keep, and whether to read ahead (as for Parquet's row groups).</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    /// <exception cref="InvalidDataException">A shard is not Arrow IPC, is truncated, lacks a column or maps differently; the message names it.</exception>
    public static async Task<ArrowDataset> OpenAsync(ShardSource source, TensorColumns? columns = null, ParquetDatasetOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var layouts = new ArrowLayout[source.Shards.Count];
        await Parallel.ForAsync(0, layouts.Length, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (s, ct) =>
        {
            await Task.Yield();
            try
            {
                layouts[s] = await ReadLayoutAsync(source, s, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw new InvalidDataException($"The shard {source.Shards[s].Address} is not a readable Arrow IPC file or stream: {ex.Message}", ex);
            }
        }).ConfigureAwait(false);

        var described = layouts.Select(l => l.Describe()).ToArray();
        columns ??= ParquetDataset.AllTensors(described[0]);
        var resolved = ColumnResolver.Resolve(columns, described, [.. source.Shards.Select(s => s.Address)]);
        var rows = new List<int>();
        var places = new List<(int, int)>();
        for (var s = 0; s < layouts.Length; s++)
        {
            for (var b = 0; b < layouts[s].Rows.Length; b++)
            {
                rows.Add(layouts[s].Rows[b]);
                places.Add((s, b));
            }
        }

        return new ArrowDataset(source, columns, resolved, described[0], layouts, rows, [.. places], (options ?? new ParquetDatasetOptions()).Clone());
    }

    private protected override string UnitName => "record batch";

    private protected override void Decode(int unit, ColumnUnit into)
    {
        var (shard, batch) = _unitPlace[unit];
        var file = Source.OpenShardAsync(shard, CancellationToken.None).GetAwaiter().GetResult();
        RecordBatchDecoder.Decode(file, _layouts[shard], batch, Schema.Columns, into);
    }

    private static async Task<ArrowLayout> ReadLayoutAsync(ShardSource source, int s, CancellationToken cancellationToken)
    {
        var shard = source.Shards[s];
        int Read(long offset, Memory<byte> buffer) => source.ReadRangeAsync(s, offset, buffer, cancellationToken).GetAwaiter().GetResult();
        var head = new byte[Math.Min(6, shard.Length)];
        if (head.Length > 0)
        {
            await source.ReadRangeAsync(s, 0, head, cancellationToken).ConfigureAwait(false);
        }

        if (ArrowFooter.IsFile(head))
        {
            var (ends, batchRows) = ArrowFooter.Read(shard.Length, Read);
            using var ranges = new RangeShardFile(s, shard.Address, shard.Length, Read);
            using var reader = new ArrowFileReader(ranges.OpenStream());
            return new ArrowLayout(true, reader.Schema, batchRows, ends);
        }

        // A stream has no footer: read it through once, its buffers mapped (not copied) when it is on disk.
        using var file = await source.OpenShardAsync(s, cancellationToken).ConfigureAwait(false);
        using var owner = new UnitOwner();
        var stream = file.LocalPath is { } path && file.Length <= int.MaxValue
            ? new ArrowStreamReader(owner.Add(new MappedShard(path, file.Length)).Memory)
            : new ArrowStreamReader(owner.Add(file.OpenStream()));
        using (stream)
        {
            var rows = new List<int>();
            while (stream.ReadNextRecordBatch() is { } batch)
            {
                using (batch)
                {
                    rows.Add(batch.Length);
                }
            }

            return new ArrowLayout(false, stream.Schema, [.. rows], null);
        }
    }
}
