using StreamingLoader.Parquet.Internal;
using StreamingLoader.Shards;
using StreamingLoader.Shards.Internal;

namespace StreamingLoader.Parquet;

/// <summary>
/// The rows of a set of Parquet shards (local, HTTP or S3 through a <see cref="ShardSource"/>) as a
/// <see cref="ColumnarDataset"/>: only the footers are read when it opens; row groups are decoded (only the
/// projected columns) with ParquetSharp (Arrow C++) when a batch needs them or just before, into pooled buffers.
/// </summary>
/// <example>
/// <code>
/// await using var shards = await ShardSource.OpenAsync("s3://bucket/train", new ShardSourceOptions { Suffix = ".parquet" });
/// await using var dataset = await ParquetDataset.OpenAsync(shards, new TensorColumns("x", "y"));
/// var sampler = dataset.CreateSampler(new ShardingOptions { BatchSize = 256 }); // rank and world from torchrun's variables
/// await using var loader = Pipeline.From(dataset, sampler).Build(Collate.Columns(dataset), new LoaderOptions { Seed = 42 });
/// </code>
/// </example>
public sealed class ParquetDataset : ColumnarDataset
{
    private readonly ParquetLeaf[][] _leaves;
    private readonly (int Shard, int RowGroup)[] _unitPlace;

    private ParquetDataset(ShardSource source, TensorColumns columns, ResolvedColumn[] resolved, IReadOnlyList<ColumnDescription> described, ParquetLeaf[][] leaves, List<int> rows, (int, int)[] places, ParquetDatasetOptions options)
        : base(source, columns, resolved, described, rows, [.. places.Select(p => p.Item1)], options.DecodedUnits, options.DecodeAhead)
    {
        _leaves = leaves;
        _unitPlace = places;
    }

    /// <summary>Gets how many row groups were decoded so far (a row group per sample would show here).</summary>
    public long RowGroupsDecoded => UnitsDecoded;

    /// <summary>
    /// Opens the Parquet shards of <paramref name="source"/>: reads each footer (by range when remote) and checks that
    /// every shard has the projected columns, each of one type that fits its tensor.
    /// </summary>
    /// <param name="source">The shards.</param>
    /// <param name="columns">The columns to read and what they become; null reads every column that maps to a tensor, named as the column.</param>
    /// <param name="options">How many decoded row groups to keep, and whether to decode ahead.</param>
    /// <param name="cancellationToken">Cancels the footer reads.</param>
    /// <exception cref="InvalidDataException">A shard is not Parquet, lacks a column or maps differently; the message names it.</exception>
    public static async Task<ParquetDataset> OpenAsync(ShardSource source, TensorColumns? columns = null, ParquetDatasetOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var layouts = new ParquetLayout[source.Shards.Count];
        await Parallel.ForAsync(0, layouts.Length, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (s, ct) =>
        {
            var shard = source.Shards[s];
            var file = new RangeShardFile(s, shard.Address, shard.Length, (offset, buffer) => source.ReadRangeAsync(s, offset, buffer, ct).GetAwaiter().GetResult());
            await Task.Yield();
            try
            {
                using var stream = file.OpenStream();
                layouts[s] = ParquetFooter.Read(stream);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw new InvalidDataException($"The shard {shard.Address} is not a readable Parquet file: {ex.Message}", ex);
            }
        }).ConfigureAwait(false);

        var described = layouts.Select(ParquetFooter.Describe).ToArray();
        columns ??= AllTensors(described[0]);
        var resolved = ColumnResolver.Resolve(columns, described, [.. source.Shards.Select(s => s.Address)]);
        var leaves = layouts.Select(layout => resolved.Select(c => layout.Leaves.First(l => l.Name == c.Name)).ToArray()).ToArray();
        var rows = new List<int>();
        var places = new List<(int, int)>();
        for (var s = 0; s < layouts.Length; s++)
        {
            for (var g = 0; g < layouts[s].RowGroupRows.Length; g++)
            {
                rows.Add(layouts[s].RowGroupRows[g]);
                places.Add((s, g));
            }
        }

        return new ParquetDataset(source, columns, resolved, described[0], leaves, rows, [.. places], (options ?? new ParquetDatasetOptions()).Clone());
    }

    private protected override string UnitName => "row group";

    private protected override void Decode(int unit, ColumnUnit into)
    {
        var (shard, rowGroup) = _unitPlace[unit];
        using var file = Source.OpenShardAsync(shard, CancellationToken.None).GetAwaiter().GetResult();
        RowGroupDecoder.Decode(file, rowGroup, _leaves[shard], Schema.Columns, into);
    }

    /// <summary>Every column that maps to a tensor (numbers and lists of them), named as the column.</summary>
    internal static TensorColumns AllTensors(IReadOnlyList<ColumnDescription> columns)
    {
        var all = new TensorColumns();
        foreach (var column in columns)
        {
            if (column.Kind is ColumnKind.Number or ColumnKind.FixedSizeList or ColumnKind.VariableList)
            {
                all = all.Tensor(column.Name);
            }
        }

        return all;
    }
}
