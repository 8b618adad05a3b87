using System.Runtime.CompilerServices;
using StreamingLoader.Parquet.Internal;
using StreamingLoader.Shards;
using StreamingLoader.Shards.Internal;
using StreamingLoader.Batching;
using StreamingLoader.Datasets;
using StreamingLoader.Internal;

namespace StreamingLoader.Parquet;

/// <summary>
/// The rows of a set of Parquet shards as a map-style dataset of <see cref="Sample{TFeature, TLabel}"/>: index i is
/// the i-th row counting shard by shard (name order), row group by row group. Only the footers are read when it
/// opens; row groups are decoded (only the <see cref="TensorColumns"/>) when a batch needs them, into pooled buffers,
/// and batches are written straight from them.
/// </summary>
/// <remarks>
/// Read it in the order of <see cref="CreateSampler"/>, which shuffles row groups and then rows within a window of row
/// groups, so that a row group is decoded about once per epoch; a plain random order decodes one per sample.
/// Samples read one at a time (<see cref="GetItem"/>, used when the pipeline transforms samples) are copies.
/// </remarks>
/// <example>
/// <code>
/// await using var shards = await ShardSource.OpenAsync("s3://bucket/train", new ShardSourceOptions { Suffix = ".parquet" });
/// var dataset = await ParquetDataset.OpenAsync(shards, new TensorColumns("x", "y"));
/// var sampler = dataset.CreateSampler(new ShardingOptions { BatchSize = 256 }); // rank and world from torchrun's variables
/// await using var loader = Pipeline.From(dataset, sampler).Build(new LoaderOptions { Seed = 42 });
/// </code>
/// </example>
public sealed class ParquetDataset : IBatchedDataset<Sample<float, long>>, IShapedDataset, IGatherDataset
{
    private readonly ShardSource _source;
    private readonly TensorColumns _columns;
    private readonly ParquetLeaf _features;
    private readonly ParquetLeaf _label;
    private readonly int _length;
    private readonly UnitTable _units;
    private readonly (int Shard, int RowGroup)[] _unitPlace;
    private readonly UnitCache _cache;
    private readonly IReadOnlyList<ColumnDescription> _described;

    private ParquetDataset(ShardSource source, TensorColumns columns, ParquetLayout[] layouts, ParquetDatasetOptions options)
    {
        _source = source;
        _columns = columns;
        _described = ParquetFooter.Describe(layouts[0]);
        (_features, _label, _length) = Map(source, columns, layouts);
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

        RowsPerUnit = rows;
        _units = new UnitTable(rows);
        _unitPlace = [.. places];
        var maxRows = rows.Count == 0 ? 1 : Math.Max(1, rows.Max());
        _cache = new UnitCache(options.DecodedUnits, new UnitPool(maxRows, _length), DecodeUnit);
        FeatureShape = [_length];
    }

    /// <summary>
    /// Opens the Parquet shards of <paramref name="source"/>: reads each footer (by range when remote) and checks that
    /// every shard has the mapped columns with the right types.
    /// </summary>
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
        return new ParquetDataset(source, columns ?? new TensorColumns(), layouts, (options ?? new ParquetDatasetOptions()).Clone());
    }

    /// <inheritdoc/>
    public int Count => _units.Samples;

    /// <inheritdoc/>
    public IReadOnlyList<int> FeatureShape { get; }

    /// <inheritdoc/>
    public IReadOnlyList<int> LabelShape { get; } = [];

    /// <summary>Gets the rows of each row group, shard by shard: the units a <see cref="ShardedBatchSampler"/> deals.</summary>
    public IReadOnlyList<int> RowsPerUnit { get; }

    /// <summary>Gets the shards read.</summary>
    public ShardSource Source => _source;

    /// <summary>Gets how many row groups were decoded so far (a row group per sample would show here).</summary>
    public long RowGroupsDecoded => _cache.Decodes;

    /// <summary>What each column of the first shard maps to; only <see cref="TensorColumns"/>' columns are read.</summary>
    public IReadOnlyList<ColumnDescription> DescribeColumns() => _described;

    /// <summary>
    /// A sampler of this dataset's row groups for this rank (see <see cref="ShardedBatchSampler"/>). It tells the shard
    /// source each epoch's shard order, so that remote shards are prefetched in the order they are read.
    /// </summary>
    public ShardedBatchSampler CreateSampler(ShardingOptions options, ElasticState? resumeFrom = null)
    {
        var sampler = ShardedBatchSampler.Create(RowsPerUnit, options, resumeFrom);
        if (!_source.IsLocal)
        {
            sampler.Planned = (_, indices) => _source.Plan(ShardOrder(indices.Span));
        }

        return sampler;
    }

    /// <inheritdoc/>
    public Sample<float, long> GetItem(int index)
    {
        var unit = UnitOf(index);
        var decoded = _cache.Acquire(unit);
        try
        {
            var row = index - _units.FirstSample(unit);
            return new Sample<float, long>(decoded.Features.AsSpan(row * _length, _length).ToArray(), decoded.Labels[row]);
        }
        finally
        {
            _cache.Release(unit);
        }
    }

    /// <inheritdoc/>
    public void GetItems(ReadOnlySpan<int> indices, Span<Sample<float, long>> destination)
    {
        for (var i = 0; i < indices.Length; i++)
        {
            destination[i] = GetItem(indices[i]);
        }
    }

    /// <summary>Copies the rows into the batch from the decoded row groups, each held for the duration of the call.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void IGatherDataset.Gather(ReadOnlySpan<long> indices, Batch batch)
    {
        var (x, y) = (batch.Features.Spec, batch.Labels.Spec);
        if (x.IsVariableLength || x.ElementsPerStep != _length || y.ElementsPerStep != 1 || x.ElementType != ElementType.Float32 || y.ElementType != ElementType.Int64)
        {
            throw new InvalidOperationException($"The batch layout ({batch.Layout}) does not hold this dataset's samples (float32 [{_length}], int64).");
        }

        Span<int> heldUnits = stackalloc int[16];
        var heldData = new HeldUnits();
        var held = 0;
        var features = batch.Features;
        var labels = batch.Labels;
        try
        {
            for (var i = 0; i < indices.Length; i++)
            {
                var index = (int)indices[i];
                var unit = UnitOf(index);
                var slot = heldUnits[..held].IndexOf(unit);
                if (slot < 0)
                {
                    if (held == heldUnits.Length)
                    {
                        for (var h = 0; h < held; h++)
                        {
                            _cache.Release(heldUnits[h]);
                        }

                        held = 0;
                    }

                    heldData[held] = _cache.Acquire(unit);
                    heldUnits[held] = unit;
                    slot = held++;
                }

                var decoded = heldData[slot]!;
                var row = index - _units.FirstSample(unit);
                decoded.Features.AsSpan(row * _length, _length).CopyTo(features.SlotUnchecked<float>(i));
                labels.SlotUnchecked<long>(i)[0] = decoded.Labels[row];
            }
        }
        finally
        {
            for (var h = 0; h < held; h++)
            {
                _cache.Release(heldUnits[h]);
            }
        }
    }

    private int UnitOf(int index)
    {
        if ((uint)index >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The dataset has {Count} rows.");
        }

        return _units.UnitOf(index);
    }

    /// <summary>The shards in the order <paramref name="indices"/> first reach them.</summary>
    private List<int> ShardOrder(ReadOnlySpan<int> indices)
    {
        var seen = new bool[_source.Shards.Count];
        var order = new List<int>();
        var lastUnit = -1;
        foreach (var index in indices)
        {
            var unit = _units.UnitOf(index);
            if (unit == lastUnit)
            {
                continue;
            }

            lastUnit = unit;
            var shard = _unitPlace[unit].Shard;
            if (!seen[shard])
            {
                seen[shard] = true;
                order.Add(shard);
            }
        }

        return order;
    }

    private void DecodeUnit(int unit, DecodedUnit into)
    {
        var (shard, rowGroup) = _unitPlace[unit];
        var address = _source.Shards[shard].Address;
        try
        {
            using var file = _source.OpenShardAsync(shard, CancellationToken.None).GetAwaiter().GetResult();
            RowGroupDecoder.Decode(file, rowGroup, _features, _label, _length, into);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new InvalidDataException($"The shard {address}, row group {rowGroup}: {ex.Message}", ex);
        }
    }

    private static (ParquetLeaf Features, ParquetLeaf Label, int Length) Map(ShardSource source, TensorColumns columns, ParquetLayout[] layouts)
    {
        ParquetLeaf? features = null, label = null;
        var length = 0;
        for (var s = 0; s < layouts.Length; s++)
        {
            var address = source.Shards[s].Address;
            var f = Leaf(layouts[s], columns.Features, address);
            var l = Leaf(layouts[s], columns.Label, address);
            if (f.Type != ParquetSharp.PhysicalType.Float || !f.Repeated)
            {
                throw new InvalidDataException($"The shard {address}: column '{columns.Features}' is {(f.Repeated ? "a list of " : "")}{f.Type}, not a list of float32.");
            }

            if (l.Repeated || l.Type is not (ParquetSharp.PhysicalType.Int64 or ParquetSharp.PhysicalType.Int32))
            {
                throw new InvalidDataException($"The shard {address}: column '{columns.Label}' is {(l.Repeated ? "a list of " : "")}{l.Type}, not int64 or int32.");
            }

            var k = ParquetFooter.FixedLength(layouts[s].RowGroupRows, f.ValuesPerRowGroup);
            if (k is null || (length != 0 && k != length && layouts[s].RowGroupRows.Any(r => r > 0)))
            {
                throw new InvalidDataException($"The shard {address}: column '{columns.Features}' does not hold lists of one length{(length != 0 ? $" ({length}, as the shards before)" : "")}; variable-length lists are not delivered as fixed-shape features.");
            }

            length = length == 0 ? k.Value : length;
            if (s == 0)
            {
                (features, label) = (f, l);
            }
            else if (f.Index != features!.Index || l.Index != label!.Index || l.Type != label.Type)
            {
                throw new InvalidDataException($"The shard {address} has a different schema from {source.Shards[0].Address} (columns in another order or of other types).");
            }
        }

        return (features!, label!, length);
    }

    private static ParquetLeaf Leaf(ParquetLayout layout, string name, string address)
    {
        var leaves = layout.Leaves.Where(l => l.Name == name).ToList();
        return leaves.Count switch
        {
            1 => leaves[0],
            0 => throw new InvalidDataException($"The shard {address} has no column '{name}' (it has {string.Join(", ", layout.Leaves.Select(l => l.Name).Distinct())})."),
            _ => throw new InvalidDataException($"The shard {address}: column '{name}' is nested ({leaves.Count} leaves), not a list of numbers."),
        };
    }

    /// <summary>The decoded units a gather holds, beside their unit numbers on the stack.</summary>
    [InlineArray(16)]
    private struct HeldUnits
    {
        private DecodedUnit? _first;
    }
}
