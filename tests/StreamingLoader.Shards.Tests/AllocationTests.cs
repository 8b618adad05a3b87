using StreamingLoader.Datasets;
using StreamingLoader.Parquet;
using Xunit.Abstractions;

namespace StreamingLoader.Shards.Tests;

/// <summary>
/// At steady state (decode buffers pooled and grown to the largest row group) reading a Parquet or Arrow epoch
/// allocates nothing per row: the managed bytes an epoch allocates grow with the rows no faster than those of the in-memory
/// tensor dataset through the same loader (whose allocation is per batch, not per row). Measured over the whole
/// process with <see cref="GC.GetTotalAllocatedBytes"/>, for two dataset sizes, as the slope between them; so it runs
/// alone, not beside the other test classes (whose allocations the process-wide count would take in).
/// </summary>
[Collection(nameof(AllocationTests))]
public sealed class AllocationTests(ITestOutputHelper output) : IDisposable
{
    private const int RowGroup = 4096;
    private const int BatchSize = 256;
    private readonly List<string> _folders = [];

    public void Dispose() => _folders.ForEach(f => Directory.Delete(f, recursive: true));

    [Theory]
    [InlineData(".parquet")]
    [InlineData(".arrow")]
    public async Task Epoch_SteadyState_AllocatesNothingPerRowBeyondTheTensorDataset(string format)
    {
        var (small, large) = (4 * RowGroup, 32 * RowGroup);
        var shardSmall = await ShardEpochBytesAsync(format, small);
        var shardLarge = await ShardEpochBytesAsync(format, large);
        var tensorSmall = await TensorEpochBytesAsync(small);
        var tensorLarge = await TensorEpochBytesAsync(large);

        var shardPerRow = (double)(shardLarge - shardSmall) / (large - small);
        var tensorPerRow = (double)(tensorLarge - tensorSmall) / (large - small);
        output.WriteLine($"bytes per epoch: {format} {shardSmall:N0} ({small:N0} rows), {shardLarge:N0} ({large:N0} rows): {shardPerRow:F2} per row");
        output.WriteLine($"bytes per epoch: tensor {tensorSmall:N0} ({small:N0} rows), {tensorLarge:N0} ({large:N0} rows): {tensorPerRow:F2} per row");

        // A single object per row would be 24 bytes or more a row. What a shard format allocates beyond the tensor
        // dataset is per row group or record batch (Parquet's reader and column readers, about 4.7 KB: 1.1-1.2 bytes a
        // row at 4,096 rows a group), so the margin is 4 bytes a row: above that, something is allocated per row.
        Assert.True(shardPerRow <= tensorPerRow + 4, $"{format} allocates {shardPerRow:F2} bytes per row, the tensor dataset {tensorPerRow:F2}.");
    }

    private async Task<long> ShardEpochBytesAsync(string format, int rows)
    {
        var shards = rows / (4 * RowGroup);
        var folder = format == ".arrow"
            ? ArrowShards.WriteTensors(shards, rowsPerShard: 4 * RowGroup, batchRows: RowGroup)
            : TestData.WriteShards(shards, rowsPerShard: 4 * RowGroup, rowGroup: RowGroup);
        _folders.Add(folder);
        await using var source = await ShardSource.OpenAsync(folder, new ShardSourceOptions { Suffix = format });
        await using ColumnarDataset dataset = format == ".arrow"
            ? await ArrowDataset.OpenAsync(source, new TensorColumns("x", "y"))
            : await ParquetDataset.OpenAsync(source, new TensorColumns("x", "y"));
        var sampler = dataset.CreateSampler(new ShardingOptions { World = World.Single, BatchSize = BatchSize });
        await using var loader = Pipeline.From(dataset, sampler).Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2, Seed = 1 });
        return await SteadyEpochBytesAsync(loader, rows);
    }

    private static async Task<long> TensorEpochBytesAsync(int rows)
    {
        var dataset = new TensorDataset<float, long>(new float[rows * TestData.Features], [TestData.Features], new long[rows]);
        await using var loader = Pipeline.From(dataset).Build(new LoaderOptions { Workers = 2, Seed = 1, BatchSize = BatchSize, Shuffle = true });
        return await SteadyEpochBytesAsync(loader, rows);
    }

    /// <summary>The fewest bytes allocated by one of three epochs, after two epochs of warm-up.</summary>
    private static async Task<long> SteadyEpochBytesAsync(DataLoader loader, int rows)
    {
        for (var warm = 0; warm < 2; warm++)
        {
            Assert.Equal(rows, await ReadAsync(loader));
        }

        var fewest = long.MaxValue;
        for (var epoch = 0; epoch < 3; epoch++)
        {
            var before = GC.GetTotalAllocatedBytes(precise: true);
            Assert.Equal(rows, await ReadAsync(loader));
            fewest = Math.Min(fewest, GC.GetTotalAllocatedBytes(precise: true) - before);
        }

        return fewest;
    }

    private static async Task<int> ReadAsync(DataLoader loader)
    {
        var rows = 0;
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                rows += batch.Count;
            }
        }

        return rows;
    }
}

/// <summary>The allocation test's collection: run with no other test class in parallel.</summary>
[CollectionDefinition(nameof(AllocationTests), DisableParallelization = true)]
public sealed class AllocationTestsRunAlone;
