using StreamingLoader.Parquet;

namespace StreamingLoader.Shards.Tests;

/// <summary>A large shard on s3rver: the server killed in the middle of its download, and reads by range.</summary>
public sealed class S3FaultTests : IAsyncLifetime
{
    private const int Rows = 16_000;
    private const int Width = 1024;
    private readonly S3Server _server = new();
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("streamingloader-s3fault-");
    private long _length;

    public async Task InitializeAsync()
    {
        await _server.InitializeAsync();

        // 64 MB of random floats (they do not compress), in 16 row groups; row i has label i.
        var folder = Directory.CreateDirectory(Path.Combine(_work.FullName, "big")).FullName;
        var random = new Random(3);
        var x = new float[Rows * Width];
        for (var i = 0; i < x.Length; i++)
        {
            x[i] = random.NextSingle();
        }

        var path = Path.Combine(folder, "big.parquet");
        ParquetShardWriter.Write(path, x, Width, Enumerable.Range(0, Rows).Select(i => (long)i).ToArray(), rowGroupRows: 1000);
        _length = new FileInfo(path).Length;
        await _server.UploadAsync("data", "big/", folder);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _work.Delete(recursive: true);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(2, false)]
    [InlineData(0, true)]
    public async Task Download_ServerKilledMidShardAndRestarted_ResumedAndNothingLost(int prefetch, bool checksums)
    {
        // Without prefetch the read downloads the shard, then decodes it; with it, it decodes the shard as it arrives.
        // With checksums the resumed download must still hash every byte once: its MD5 is checked against the ETag.
        var cache = Path.Combine(_work.FullName, $"cache-{prefetch}-{checksums}");
        var options = _server.SourceOptions(cache);
        options.PrefetchShards = prefetch;
        options.VerifyChecksums = checksums;
        options.Retry = new RetryPolicy { MaxAttempts = 40, InitialDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromMilliseconds(250) };
        await using var source = await ShardSource.OpenAsync("s3://data/big", options);
        await using var dataset = await ParquetDataset.OpenAsync(source, new TensorColumns("x", "y"));
        await using var loader = Pipeline.From(dataset, dataset.CreateSampler(new ShardingOptions { World = World.Single, BatchSize = 500 })).Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2 });

        var reading = Task.Run(async () =>
        {
            var labels = new List<long>();
            await foreach (var batch in loader.ReadEpochAsync())
            {
                using (batch)
                {
                    labels.AddRange(batch.Labels.AsSpan<long>().ToArray());
                }
            }

            return labels;
        });

        // Kill the server once part of the shard has arrived, then start it again on the same data.
        var partSeen = 0L;
        while (partSeen == 0)
        {
            Assert.False(reading.IsCompleted, "The shard downloaded before the test could see it under way.");
            partSeen = Directory.Exists(cache) ? new DirectoryInfo(cache).EnumerateFiles("*.part").Sum(f => f.Length) : 0;
            await Task.Delay(1);
        }

        _server.Kill();
        await _server.StartAsync();
        var labels = await reading;

        Assert.InRange(partSeen, 1, _length - 1);
        Assert.Equal(Enumerable.Range(0, Rows).Select(i => (long)i), labels.Order());
        Assert.True(source.Retries > 0, "The interrupted download was not retried.");
    }

    [Fact]
    public async Task Download_RowGroupsDecodedAsTheShardArrives_SameRowsAsFromTheFile()
    {
        var options = _server.SourceOptions(Path.Combine(_work.FullName, "cache-arriving"));
        await using var remote = await ShardSource.OpenAsync("s3://data/big", options);
        await using var local = await ShardSource.OpenAsync(Path.Combine(_work.FullName, "big"), new ShardSourceOptions { Suffix = ".parquet" });

        var arriving = await RowPrintsAsync(remote);
        var fromFile = await RowPrintsAsync(local);

        Assert.True(remote.OpenedWhileDownloading > 0, "No row group was decoded while its shard was still downloading.");
        Assert.Equal(Rows, arriving.Count);
        Assert.Equal(fromFile, arriving);
    }

    /// <summary>Each row's label and a print of its 1,024 floats (their bits, weighted by position), read in one epoch.</summary>
    private static async Task<SortedDictionary<long, long>> RowPrintsAsync(ShardSource source)
    {
        await using var dataset = await ParquetDataset.OpenAsync(source, new TensorColumns("x", "y"));
        await using var loader = Pipeline.From(dataset, dataset.CreateSampler(new ShardingOptions { World = World.Single, BatchSize = 500 }))
            .Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2 });
        var prints = new SortedDictionary<long, long>();
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                var labels = batch.Labels.AsSpan<long>();
                var x = batch.Features.AsSpan<float>();
                for (var row = 0; row < labels.Length; row++)
                {
                    long print = 0;
                    var values = x.Slice(row * Width, Width);
                    for (var i = 0; i < values.Length; i++)
                    {
                        print += BitConverter.SingleToInt32Bits(values[i]) * (long)(i + 1);
                    }

                    prints.Add(labels[row], print);
                }
            }
        }

        return prints;
    }

    [Fact]
    public async Task Download_LargeShardInRangesSideBySide_CachedFileIsTheObjectByteForByte()
    {
        var cache = Path.Combine(_work.FullName, "cache-bytes");
        var options = _server.SourceOptions(cache);
        options.PrefetchShards = 0;
        await using var source = await ShardSource.OpenAsync("s3://data/big", options);
        using (var shard = await source.OpenShardAsync(0, CancellationToken.None))
        {
            Assert.NotNull(shard.LocalPath);
        }

        var cached = Assert.Single(Directory.GetFiles(cache, "*.shard"));
        var expected = await File.ReadAllBytesAsync(Path.Combine(_work.FullName, "big", "big.parquet"));
        var actual = await File.ReadAllBytesAsync(cached);
        Assert.Equal(expected.Length, actual.Length);
        Assert.True(expected.AsSpan().SequenceEqual(actual), $"The cached copy differs from the object first at byte {expected.AsSpan().CommonPrefixLength(actual):N0}.");
        Assert.Equal(_length, source.BytesFetched);
    }

    [Fact]
    public async Task Ranges_OneSampleOfALargeRemoteFile_FetchesAFractionOfIt()
    {
        var options = _server.SourceOptions(Path.Combine(_work.FullName, "cache-ranges"));
        options.ReadMode = RemoteReadMode.Ranges;
        await using var source = await ShardSource.OpenAsync("s3://data/big", options);
        await using var dataset = await ParquetDataset.OpenAsync(source, new TensorColumns("x", "y"));

        var sample = dataset.GetItem(12_345);

        Assert.Equal(12_345, sample.Values<long>("y")[0]);
        Assert.Equal(Width, sample.Values<float>("x").Length);
        Assert.InRange(source.BytesFetched, 1, _length / 8);
        Assert.False(Directory.Exists(Path.Combine(_work.FullName, "cache-ranges")) && Directory.EnumerateFiles(Path.Combine(_work.FullName, "cache-ranges"), "*.shard").Any());
    }
}
