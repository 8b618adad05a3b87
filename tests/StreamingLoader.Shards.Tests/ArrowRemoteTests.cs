using StreamingLoader.Parquet;

namespace StreamingLoader.Shards.Tests;

/// <summary>Arrow IPC files and streams on a real S3-compatible server (s3rver on loopback), through S3 and plain HTTP.</summary>
public sealed class ArrowRemoteTests : IAsyncLifetime
{
    private const int Rows = 200;
    private readonly S3Server _server = new();
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("streamingloader-arrow-s3-");

    public async Task InitializeAsync()
    {
        await _server.InitializeAsync();
        await _server.UploadAsync("data", "arrow/", ArrowShards.Write(3, Rows, 64, folder: Directory.CreateDirectory(Path.Combine(_work.FullName, "files")).FullName));
        await _server.UploadAsync("data", "arrows/", ArrowShards.Write(3, Rows, 64, stream: true, folder: Directory.CreateDirectory(Path.Combine(_work.FullName, "streams")).FullName));
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _work.Delete(recursive: true);
    }

    [Theory]
    [InlineData("arrow", RemoteReadMode.WholeShards)]
    [InlineData("arrow", RemoteReadMode.Ranges)]
    [InlineData("arrows", RemoteReadMode.WholeShards)]
    [InlineData("arrows", RemoteReadMode.Ranges)]
    public async Task S3_FilesAndStreamsCachedOrByRange_EveryTypeEveryRowOnce(string format, RemoteReadMode mode)
    {
        var options = _server.SourceOptions(Path.Combine(_work.FullName, $"cache-{format}-{mode}"), "." + format);
        options.ReadMode = mode;
        await using var source = await ShardSource.OpenAsync($"s3://data/{format}", options);
        await using var dataset = await ArrowDataset.OpenAsync(source, ArrowDatasetTests.AllTypes());
        var sampler = dataset.CreateSampler(new ShardingOptions { World = World.Single, BatchSize = 32, WindowUnits = 2 });
        await using var loader = Pipeline.From(dataset, sampler).Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2, Seed = 4 });

        Assert.Equal(Enumerable.Range(0, 3 * Rows).Select(i => (long)i), (await ArrowDatasetTests.ReadAllTypesAsync(loader)).Order());
        Assert.True(source.BytesFetched > 0);
    }

    [Fact]
    public async Task Http_FileByRangeRequests_TwoRanksStreamUnionIsEveryRowOnce()
    {
        var union = new List<long>();
        for (var rank = 0; rank < 2; rank++)
        {
            var options = new ShardSourceOptions
            {
                Suffix = ".arrow",
                HttpShardNames = ["types-00.arrow", "types-01.arrow", "types-02.arrow"],
                CacheDirectory = Path.Combine(_work.FullName, "cache-http"),
            };
            await using var source = await ShardSource.OpenAsync($"{_server.Endpoint}data/arrow/", options);
            await using var dataset = await ArrowDataset.OpenAsync(source, ArrowDatasetTests.AllTypes());
            var rows = dataset.Stream(seed: 2, new ShardingOptions { World = new World(rank, 2) });
            await using var loader = Pipeline.From(rows).Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2, BatchSize = 32 });
            union.AddRange(await ArrowDatasetTests.ReadAllTypesAsync(loader, indexIsRow: false));
        }

        Assert.Equal(Enumerable.Range(0, 3 * Rows).Select(i => (long)i), union.Order());
    }
}
