using StreamingLoader.Images;
using StreamingLoader.WebDataset;

namespace StreamingLoader.Shards.Tests;

/// <summary>WebDataset tar shards of real JPEGs, from local disk, HTTP and S3 (s3rver on loopback serves both).</summary>
public sealed class TarShardTests : IAsyncLifetime
{
    private const int Shards = 4;
    private const int PerShard = 12;
    private readonly S3Server _server = new();
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("streamingloader-tartest-");
    private Dictionary<string, long> _offsets = [];

    private string Folder => Path.Combine(_work.FullName, "tars");

    public async Task InitializeAsync()
    {
        _offsets = TarShards.Write(Folder, Shards, PerShard);
        await _server.InitializeAsync();
        await _server.UploadAsync("web", "train/", Folder);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _work.Delete(recursive: true);
    }

    [Theory]
    [InlineData("local")]
    [InlineData("http")]
    [InlineData("s3")]
    public async Task Loader_TwoRanksFromEachStore_EveryImageOnceWithItsLabelShardsWhole(string store)
    {
        var union = new List<long>();
        for (var rank = 0; rank < 2; rank++)
        {
            await using var source = await OpenAsync(store, Folder, $"cache-{store}-{rank}");
            var dataset = new TarDataset(source);
            await using var loader = dataset.CreateImageLoader(ImageTransform.ToTensor(), new ShardingOptions { World = new World(rank, 2) }, new LoaderOptions { BatchSize = 5, Workers = 2, Seed = 3 });
            var labels = await TarShards.ReadEpochAsync(loader);

            // Two whole shards per rank, each read in order.
            Assert.Equal(2 * PerShard, labels.Count);
            var shards = labels.Select(l => l / PerShard).Distinct().ToList();
            Assert.Equal(shards.SelectMany(s => Enumerable.Range((int)s * PerShard, PerShard).Select(i => (long)i)), labels);
            union.AddRange(labels);
        }

        Assert.Equal(Enumerable.Range(0, Shards * PerShard).Select(i => (long)i), union.Order());
    }

    [Fact]
    public async Task Loader_JsonLabels_ReadFromTheLabelProperty()
    {
        var folder = Path.Combine(_work.FullName, "json");
        TarShards.Write(folder, shards: 2, perShard: 5, json: true);
        await using var source = await ShardSource.OpenAsync(folder, new ShardSourceOptions { Suffix = ".tar" });
        await using var loader = new TarDataset(source).CreateImageLoader(
            ImageTransform.ToTensor(), new ShardingOptions { World = World.Single }, new LoaderOptions { BatchSize = 4 }, new TarImageOptions { LabelExtension = "json" });
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), (await TarShards.ReadEpochAsync(loader)).Order());
    }

    [Fact]
    public async Task Loader_TruncatedShardOnS3_FailsNamingShardAndMember()
    {
        var folder = CopyWith("truncated", "shard-001.tar", bytes => bytes[..(int)(_offsets["sample-00017.jpg"] + 512 + 100)]);
        await _server.UploadAsync("web", "truncated/", folder);
        await using var source = await OpenAsync("s3", "truncated", "cache-truncated");
        await using var loader = new TarDataset(source).CreateImageLoader(ImageTransform.ToTensor(), new ShardingOptions { World = World.Single }, new LoaderOptions { BatchSize = 4, Workers = 2 });

        var error = await Assert.ThrowsAsync<DataLoaderException>(() => TarShards.ReadEpochAsync(loader));
        Assert.Contains("The shard s3://web/truncated/shard-001.tar, member 'sample-00017.jpg' (byte ", error.Message);
        Assert.Contains("is truncated", error.Message);
    }

    [Fact]
    public async Task Loader_TruncatedAndCorruptShardsUnderSkip_DeadLettersNameThemAndTheRestIsRead()
    {
        var folder = CopyWith("bad", "shard-001.tar", bytes => bytes[..(int)(_offsets["sample-00017.jpg"] + 512 + 100)]);
        CopyWith("bad", "shard-002.tar", bytes =>
        {
            // The header of sample 27's label: its checksum no longer matches.
            bytes[(int)_offsets["sample-00027.cls"] + 3] ^= 0x55;
            return bytes;
        });
        CopyWith("bad", "shard-003.tar", bytes =>
        {
            // Sample 40's JPEG: its start-of-frame marker and what follows overwritten (the tar itself stays valid).
            var data = (int)_offsets["sample-00040.jpg"] + 512;
            bytes.AsSpan(data + 2, 200).Clear();
            return bytes;
        });
        await using var source = await ShardSource.OpenAsync(folder, new ShardSourceOptions { Suffix = ".tar" });
        await using var loader = new TarDataset(source).CreateImageLoader(
            ImageTransform.ToTensor(), new ShardingOptions { World = World.Single }, new LoaderOptions { BatchSize = 4, Workers = 2, ErrorPolicy = ErrorPolicy.Skip });

        var labels = await TarShards.ReadEpochAsync(loader);

        // Shard 1 up to sample 16, shard 2 up to sample 26 (27's group dropped), shard 3 without sample 40.
        var expected = Enumerable.Range(0, 12).Concat(Enumerable.Range(12, 5)).Concat(Enumerable.Range(24, 3)).Concat(Enumerable.Range(36, 12).Where(i => i != 40));
        Assert.Equal(expected.Select(i => (long)i), labels.Order());
        var reasons = loader.DeadLetters.Select(d => d.Reason).ToList();
        Assert.Equal(3, reasons.Count);
        Assert.Contains(reasons, r => r.Contains(Path.Combine(folder, "shard-001.tar") + ", member 'sample-00017.jpg'", StringComparison.Ordinal) && r.Contains("truncated", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.Contains(Path.Combine(folder, "shard-002.tar") + " is not a readable tar at the header after member 'sample-00027.jpg'", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.Contains(Path.Combine(folder, "shard-003.tar") + ", member sample-00040.jpg", StringComparison.Ordinal));
    }

    /// <summary>A folder of the shards with <paramref name="name"/> changed by <paramref name="change"/>.</summary>
    private string CopyWith(string folderName, string name, Func<byte[], byte[]> change)
    {
        var folder = Path.Combine(_work.FullName, folderName);
        if (!Directory.Exists(folder))
        {
            Directory.CreateDirectory(folder);
            foreach (var file in Directory.GetFiles(Folder))
            {
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            }
        }

        var path = Path.Combine(folder, name);
        File.WriteAllBytes(path, change(File.ReadAllBytes(path)));
        return folder;
    }

    private Task<ShardSource> OpenAsync(string store, string prefixOrFolder, string cache)
    {
        var options = _server.SourceOptions(Path.Combine(_work.FullName, cache), ".tar");
        return store switch
        {
            "local" => ShardSource.OpenAsync(prefixOrFolder, options),
            "http" => ShardSource.OpenAsync(new Uri(_server.Endpoint, "web/train/").ToString(), new ShardSourceOptions
            {
                Suffix = ".tar",
                CacheDirectory = options.CacheDirectory,
                HttpShardNames = [.. Enumerable.Range(0, Shards).Select(s => $"shard-{s:D3}.tar")],
            }),
            _ => ShardSource.OpenAsync(store == "s3" && prefixOrFolder == Folder ? "s3://web/train" : $"s3://web/{prefixOrFolder}", options),
        };
    }
}
