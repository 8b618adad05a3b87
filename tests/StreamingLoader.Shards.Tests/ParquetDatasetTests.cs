using StreamingLoader.Parquet;
using StreamingLoader.Batching;

namespace StreamingLoader.Shards.Tests;

public sealed class ParquetDatasetTests : IDisposable
{
    private readonly string _folder = TestData.WriteShards(shards: 5, rowsPerShard: 300, rowGroup: 64);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static async Task<List<long>> ReadEpochAsync(DataLoader loader)
    {
        var labels = new List<long>();
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                TestData.AssertRows(batch);
                labels.AddRange(batch.Labels.AsSpan<long>().ToArray());
            }
        }

        return labels;
    }

    [Fact]
    public async Task Loader_WholeEpoch_EveryRowOnceWithItsValuesAndEachRowGroupDecodedAboutOnce()
    {
        await using var source = await ShardSource.OpenAsync(_folder, new ShardSourceOptions { Suffix = ".parquet" });
        await using var dataset = await ParquetDataset.OpenAsync(source, new TensorColumns("x", "y"));
        Assert.Equal(1500, dataset.Count);
        Assert.Equal(5 * 5, dataset.RowsPerUnit.Count); // 300 rows in groups of 64: 4 of 64 and one of 44
        var sampler = dataset.CreateSampler(new ShardingOptions { World = World.Single, BatchSize = 32, WindowUnits = 2 });
        await using var loader = Pipeline.From(dataset, sampler).Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2, Seed = 5 });

        var labels = await ReadEpochAsync(loader);

        Assert.Equal(Enumerable.Range(0, 1500).Select(i => (long)i), labels.Order());
        Assert.NotEqual(Enumerable.Range(0, 1500).Select(i => (long)i), labels);
        Assert.InRange(dataset.RowGroupsDecoded, 25, 35);
        Assert.Contains(dataset.DescribeColumns(), c => c is { Name: "x", Kind: ColumnKind.FixedSizeList, Length: TestData.Features, ElementType: ElementType.Float32 });
        Assert.Contains(dataset.DescribeColumns(), c => c is { Name: "y", Kind: ColumnKind.Number, ElementType: ElementType.Int64 });
    }

    [Fact]
    public async Task Loader_WithTransform_ReadsCopiesOfTheSameRows()
    {
        await using var source = await ShardSource.OpenAsync(_folder, new ShardSourceOptions { Suffix = ".parquet" });
        await using var dataset = await ParquetDataset.OpenAsync(source, new TensorColumns("x", "y"));
        var sampler = dataset.CreateSampler(new ShardingOptions { World = World.Single, BatchSize = 50 });
        await using var loader = Pipeline.From(dataset, sampler).Transform((s, _) => s).Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2, Seed = 5 });

        Assert.Equal(Enumerable.Range(0, 1500).Select(i => (long)i), (await ReadEpochAsync(loader)).Order());
    }

    [Fact]
    public async Task Open_MissingColumn_ErrorNamesTheShardAndItsColumns()
    {
        await using var source = await ShardSource.OpenAsync(_folder, new ShardSourceOptions { Suffix = ".parquet" });
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ParquetDataset.OpenAsync(source, new TensorColumns("pixels", "y")));
        Assert.Contains("part-000.parquet", error.Message);
        Assert.Contains("no column 'pixels' (it has x, y)", error.Message);
    }

    [Fact]
    public async Task Open_TruncatedShard_ErrorNamesTheShard()
    {
        var path = Path.Combine(_folder, "part-003.parquet");
        var bytes = await File.ReadAllBytesAsync(path);
        await File.WriteAllBytesAsync(path, bytes[..(bytes.Length / 2)]);
        await using var source = await ShardSource.OpenAsync(_folder, new ShardSourceOptions { Suffix = ".parquet" });

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ParquetDataset.OpenAsync(source));
        Assert.Contains("part-003.parquet is not a readable Parquet file", error.Message);
    }

    [Fact]
    public async Task Loader_CorruptedRowGroup_FailsNamingTheShard()
    {
        Corrupt(Path.Combine(_folder, "part-002.parquet"));
        await using var source = await ShardSource.OpenAsync(_folder, new ShardSourceOptions { Suffix = ".parquet" });
        await using var dataset = await ParquetDataset.OpenAsync(source, new TensorColumns("x", "y"));
        await using var loader = Pipeline.From(dataset, dataset.CreateSampler(new ShardingOptions { World = World.Single, BatchSize = 32 })).Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2, Seed = 1 });

        var error = await Assert.ThrowsAsync<DataLoaderException>(() => ReadEpochAsync(loader));
        Assert.Contains("part-002.parquet, row group 0", error.Message);
        Assert.InRange(error.SampleIndex, 600, 663);
    }

    [Fact]
    public async Task Loader_CorruptedRowGroupUnderSkip_DeadLettersNameTheShardAndTheRestIsRead()
    {
        Corrupt(Path.Combine(_folder, "part-002.parquet"));
        await using var source = await ShardSource.OpenAsync(_folder, new ShardSourceOptions { Suffix = ".parquet" });
        await using var dataset = await ParquetDataset.OpenAsync(source, new TensorColumns("x", "y"));
        await using var loader = Pipeline.From(dataset, dataset.CreateSampler(new ShardingOptions { World = World.Single, BatchSize = 32 }))
            .Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2, Seed = 1, ErrorPolicy = ErrorPolicy.Skip });

        var labels = await ReadEpochAsync(loader);

        // Row group 0 of shard 2 holds rows 600..663: those are dead letters, every other row is read.
        var broken = Enumerable.Range(600, 64).Select(i => (long)i).ToHashSet();
        Assert.Equal(Enumerable.Range(0, 1500).Select(i => (long)i).Where(i => !broken.Contains(i)), labels.Order());
        Assert.Equal(broken.Order(), loader.DeadLetters.Select(d => d.SampleIndex).Order());
        Assert.All(loader.DeadLetters, d => Assert.Contains("part-002.parquet, row group 0", d.Reason));
    }

    /// <summary>Overwrites the first page header of the first column chunk: the footer stays readable, row group 0 does not.</summary>
    private static void Corrupt(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.Position = 4;
        file.Write(Enumerable.Repeat((byte)0xFF, 32).ToArray());
    }
}
