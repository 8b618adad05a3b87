using StreamingLoader.Batching;
using StreamingLoader.Datasets;
using StreamingLoader.Internal;
using StreamingLoader.Parquet.Internal;
using StreamingLoader.Shards;
using StreamingLoader.Shards.Internal;

namespace StreamingLoader.Parquet;

/// <summary>
/// The rows of a set of columnar shards (<see cref="ParquetDataset"/>, Arrow) as a map-style
/// dataset: index i is the i-th row counting shard by shard (name order), unit by unit (row groups, record batches).
/// Only the projected columns (<see cref="TensorColumns"/>) are read. Batch it with <c>Collate.Columns(dataset)</c>,
/// in the order of <see cref="CreateSampler"/>; or read it once as a stream with <see cref="Stream"/>.
/// </summary>
/// <remarks>
/// <para>
/// A loader without a transform copies each batch's rows straight from the decoded units into the batch (no row
/// objects, no managed allocation per row). With a transform, each sample is a <see cref="ColumnarRow"/>: a copy.
/// </para>
/// <para>
/// The sampler shuffles units and then rows within a window of units, so a unit is decoded about once per epoch; the
/// units of the next window are decoded ahead on a background task while the current one is read. A plain random
/// order would decode a unit per sample. Dispose the dataset before its <see cref="ShardSource"/>.
/// </para>
/// </remarks>
public abstract class ColumnarDataset : IBatchedDataset<ColumnarRow>, IGatherDataset, IAsyncDisposable, IDisposable
{
    private readonly UnitTable _units;
    private readonly int[] _unitShard;
    private readonly UnitCache _cache;
    private readonly IReadOnlyList<ColumnDescription> _described;
    private readonly bool _decodeAhead;
    private readonly Lock _lock = new();
    private readonly Action<int> _reached;
    private UnitPrefetcher? _prefetcher;
    private int _disposed;

    private protected ColumnarDataset(ShardSource source, TensorColumns columns, ResolvedColumn[] resolved, IReadOnlyList<ColumnDescription> described, IReadOnlyList<int> rowsPerUnit, int[] unitShard, int decodedUnits, bool decodeAhead)
    {
        Source = source;
        Columns = columns;
        Schema = new RowSchema(resolved);
        _described = described;
        RowsPerUnit = rowsPerUnit;
        _units = new UnitTable(rowsPerUnit);
        _unitShard = unitShard;
        _decodeAhead = decodeAhead;
        _cache = new UnitCache(decodedUnits, new UnitPool(resolved.Length), DecodeChecked);
        Collator = ColumnCollator.For(Schema);
        _reached = unit => _prefetcher?.Reached(unit);
    }

    /// <inheritdoc/>
    public int Count => _units.Samples;

    /// <summary>Gets the rows of each unit (row group, record batch), shard by shard: the units a <see cref="ShardedBatchSampler"/> deals.</summary>
    public IReadOnlyList<int> RowsPerUnit { get; }

    /// <summary>Gets the shards read.</summary>
    public ShardSource Source { get; }

    /// <summary>Gets the columns read and what they map to.</summary>
    public TensorColumns Columns { get; }

    /// <summary>Gets how many units were decoded so far (a unit per sample would show here).</summary>
    public long UnitsDecoded => _cache.Decodes;

    internal RowSchema Schema { get; }

    internal ColumnCollator Collator { get; }

    /// <summary>What each column of the first shard maps to (all of them, not only the projected ones).</summary>
    public IReadOnlyList<ColumnDescription> DescribeColumns() => _described;

    /// <summary>
    /// A sampler of this dataset's units for this rank (see <see cref="ShardedBatchSampler"/>). It tells the dataset
    /// each epoch's order, so that the next units are decoded (and remote shards fetched) ahead of the workers.
    /// </summary>
    public ShardedBatchSampler CreateSampler(ShardingOptions options, ElasticState? resumeFrom = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var sampler = ShardedBatchSampler.Create(RowsPerUnit, options, resumeFrom);
        var ahead = options.WindowUnits;
        sampler.Planned = (_, indices) => Plan(indices.Span, ahead);
        return sampler;
    }

    /// <summary>
    /// The rows of this rank's shards, read once in order as a stream (an iterable dataset, for data that is read
    /// once): each epoch (each enumeration) deals the shards in an order shuffled from (<paramref name="seed"/>, epoch)
    /// to the ranks (shard k to rank k mod world size), and reads them unit by unit, the next unit decoded ahead.
    /// </summary>
    /// <param name="seed">The seed of the shard order; use the loader's.</param>
    /// <param name="options">The world and whether shards are shuffled; batch size and window do not apply.</param>
    /// <param name="firstEpoch">The epoch of the first enumeration.</param>
    public IAsyncEnumerable<ColumnarRow> Stream(ulong seed, ShardingOptions options, long firstEpoch = 0)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new ShardStream(this, seed, options.World ?? World.FromEnvironment(), options.Shuffle, firstEpoch);
    }

    /// <inheritdoc/>
    public ColumnarRow GetItem(int index)
    {
        if ((uint)index >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The dataset has {Count} rows.");
        }

        var unit = _units.UnitOf(index);
        _prefetcher?.Reached(unit);
        var decoded = _cache.Acquire(unit);
        try
        {
            return RowCopy.Copy(Schema, decoded, index - _units.FirstSample(unit), index);
        }
        finally
        {
            _cache.Release(unit);
        }
    }

    /// <inheritdoc/>
    public void GetItems(ReadOnlySpan<int> indices, Span<ColumnarRow> destination)
    {
        for (var i = 0; i < indices.Length; i++)
        {
            destination[i] = GetItem(indices[i]);
        }
    }

    /// <summary>Copies the rows into the batch from the decoded units, each held for the duration of the call.</summary>
    void IGatherDataset.Gather(ReadOnlySpan<long> indices, Batch batch)
    {
        var layout = Collator.GetLayout(null!);
        if (!batch.Layout.SameAs(layout))
        {
            throw new InvalidOperationException($"The batch layout ({batch.Layout}) is not this dataset's ({layout}): collate it with Collate.Columns(dataset).");
        }

        UnitGather.Gather(indices, batch, _units, _cache, Collator, _reached);
    }

    /// <summary>Decodes unit <paramref name="unit"/> (its projected columns) into <paramref name="into"/>.</summary>
    private protected abstract void Decode(int unit, ColumnUnit into);

    /// <summary>The shard that holds <paramref name="unit"/>.</summary>
    private protected int ShardOf(int unit) => _unitShard[unit];

    /// <summary>The units of one shard, in order.</summary>
    internal IEnumerable<int> UnitsOf(int shard) => Enumerable.Range(0, _unitShard.Length).Where(u => _unitShard[u] == shard);

    internal int FirstRow(int unit) => _units.FirstSample(unit);

    internal ColumnUnit AcquireUnit(int unit) => _cache.Acquire(unit);

    internal void ReleaseUnit(int unit) => _cache.Release(unit);

    internal void WarmUnit(int unit) => _cache.Warm(unit);

    /// <summary>Stops decoding ahead (awaiting the unit being decoded).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        UnitPrefetcher? prefetcher;
        lock (_lock)
        {
            prefetcher = _prefetcher;
        }

        if (prefetcher is not null)
        {
            await prefetcher.DisposeAsync().ConfigureAwait(false);
        }

        // Decoded units may hold mapped files (Arrow): unmap them now rather than at finalization.
        _cache.Clear();
        GC.SuppressFinalize(this);
    }

    /// <inheritdoc cref="DisposeAsync"/>
    public void Dispose()
    {
        DisposeAsync().AsTask().GetAwaiter().GetResult();
        GC.SuppressFinalize(this);
    }

    private void DecodeChecked(int unit, ColumnUnit into)
    {
        var shard = _unitShard[unit];
        try
        {
            Decode(unit, into);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var first = Array.IndexOf(_unitShard, shard);
            throw new InvalidDataException($"The shard {Source.Shards[shard].Address}, {UnitName} {unit - first}: {ex.Message}", ex);
        }
    }

    /// <summary>Gets what a unit is called in messages ("row group", "record batch").</summary>
    private protected abstract string UnitName { get; }

    /// <summary>Tells the prefetchers the order this rank reads the units (and so the shards) in this epoch.</summary>
    private void Plan(ReadOnlySpan<int> indices, int ahead)
    {
        var seenUnits = new bool[_units.Count];
        var seenShards = new bool[Source.Shards.Count];
        var units = new List<int>();
        var shards = new List<int>();
        var last = -1;
        foreach (var index in indices)
        {
            var unit = _units.UnitOf(index);
            if (unit == last || seenUnits[unit])
            {
                continue;
            }

            last = unit;
            seenUnits[unit] = true;
            units.Add(unit);
            if (!seenShards[_unitShard[unit]])
            {
                seenShards[_unitShard[unit]] = true;
                shards.Add(_unitShard[unit]);
            }
        }

        if (!Source.IsLocal)
        {
            Source.Plan(shards);
        }

        if (!_decodeAhead || Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        lock (_lock)
        {
            _prefetcher ??= new UnitPrefetcher(_cache, _units.Count, ahead);
        }

        _prefetcher.Plan([.. units]);
    }
}
