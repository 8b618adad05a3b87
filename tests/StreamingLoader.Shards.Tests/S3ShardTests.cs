using StreamingLoader.Parquet;

namespace StreamingLoader.Shards.Tests;

/// <summary>Shards on a real S3-compatible server (s3rver on loopback), read by separate rank processes.</summary>
public sealed class S3ShardTests : IAsyncLifetime
{
    private readonly S3Server _server = new();
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("streamingloader-s3test-");

    public async Task InitializeAsync()
    {
        await _server.InitializeAsync();
        var shards = TestData.WriteShards(shards: 8, rowsPerShard: 250, rowGroup: 50, Directory.CreateDirectory(Path.Combine(_work.FullName, "shards")).FullName);
        await _server.UploadAsync("data", "train/", shards);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _work.Delete(recursive: true);
    }

    [Fact]
    public async Task Ranks_4RanksOf2WorkersInSeparateProcesses_UnionIsEveryRowOnce()
    {
        // Two nodes of two ranks; each node's ranks share one cache folder.
        var ranks = new List<RankProcess>();
        try
        {
            for (var rank = 0; rank < 4; rank++)
            {
                var cache = Path.Combine(_work.FullName, $"cache-node{rank / 2}");
                ranks.Add(new RankProcess(new World(rank, 4, rank % 2, 2), "s3://data/train", _server.Endpoint, cache, 1L << 30, workers: 2, Path.Combine(_work.FullName, $"rank{rank}.txt")));
            }

            foreach (var rank in ranks)
            {
                await rank.WaitForExitAsync();
            }

            var shares = ranks.Select(r => r.Labels()).ToList();
            Assert.All(shares, share => Assert.Equal(500, share.Count));
            Assert.Equal(Enumerable.Range(0, 2000).Select(i => (long)i), shares.SelectMany(s => s).Order());
            Assert.All(ranks, r => Assert.Contains("16 batches of 16", r.Output));
        }
        finally
        {
            ranks.ForEach(r => r.Dispose());
        }
    }

    [Fact]
    public async Task Cache_TwoProcessesShareOneLimit_StayUnderItAndReadEverything()
    {
        var cache = Path.Combine(_work.FullName, "shared-cache");
        var shardBytes = new DirectoryInfo(Path.Combine(_work.FullName, "shards")).GetFiles().Max(f => f.Length);
        var limit = 3 * shardBytes;
        var processes = new[]
        {
            new RankProcess(World.Single, "s3://data/train", _server.Endpoint, cache, limit, workers: 2, Path.Combine(_work.FullName, "a.txt"), prefetch: 1),
            new RankProcess(World.Single, "s3://data/train", _server.Endpoint, cache, limit, workers: 2, Path.Combine(_work.FullName, "b.txt"), prefetch: 1),
        };
        try
        {
            // Watch the folder while they run: what it holds (shards and parts under way) never passes the limit.
            long most = 0;
            while (!processes.All(p => p.HasExited))
            {
                most = Math.Max(most, Bytes(cache));
                Assert.True(most <= limit, $"The shared cache held {most} bytes, over its limit of {limit}.");
                await Task.Delay(1);
            }

            foreach (var process in processes)
            {
                await process.WaitForExitAsync();
                Assert.Equal(Enumerable.Range(0, 2000).Select(i => (long)i), process.Labels().Order());
            }

            // The shards stay cached once the processes are gone: what the polling may have missed on a busy machine.
            var left = Bytes(cache);
            Assert.InRange(left, 1, limit);
        }
        finally
        {
            Array.ForEach(processes, p => p.Dispose());
        }

        static long Bytes(string folder)
        {
            long total = 0;
            try
            {
                foreach (var file in new DirectoryInfo(folder).EnumerateFiles())
                {
                    try
                    {
                        total += file.Name.StartsWith('.') ? 0 : file.Length;
                    }
                    catch (FileNotFoundException)
                    {
                    }
                }
            }
            catch (DirectoryNotFoundException)
            {
            }

            return total;
        }
    }

    [Fact]
    public async Task Loader_CorruptedShardOnS3UnderSkip_DeadLettersNameTheS3Address()
    {
        var bad = Path.Combine(_work.FullName, "bad");
        TestData.WriteShards(shards: 2, rowsPerShard: 100, rowGroup: 50, Directory.CreateDirectory(bad).FullName);
        using (var file = new FileStream(Path.Combine(bad, "part-001.parquet"), FileMode.Open, FileAccess.Write))
        {
            file.Position = 4;
            file.Write(Enumerable.Repeat((byte)0xFF, 32).ToArray());
        }

        await _server.UploadAsync("data", "bad/", bad);
        await using var source = await ShardSource.OpenAsync("s3://data/bad", _server.SourceOptions(Path.Combine(_work.FullName, "cache-bad")));
        await using var dataset = await ParquetDataset.OpenAsync(source, new TensorColumns("x", "y"));
        await using var loader = Pipeline.From(dataset, dataset.CreateSampler(new ShardingOptions { World = World.Single, BatchSize = 16 }))
            .Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2, ErrorPolicy = ErrorPolicy.Skip });
        var read = new List<long>();
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                read.AddRange(batch.Labels.AsSpan<long>().ToArray());
            }
        }

        Assert.Equal(Enumerable.Range(0, 100).Concat(Enumerable.Range(150, 50)).Select(i => (long)i), read.Order());
        Assert.Equal(50, loader.DeadLetters.Count);
        Assert.All(loader.DeadLetters, d => Assert.Contains("s3://data/bad/part-001.parquet, row group 0", d.Reason));
    }

    [Fact]
    public async Task Download_StoredObjectRotted_FailsNamingTheShardAndBothChecksums()
    {
        var rotted = Path.Combine(_work.FullName, "rotted");
        TestData.WriteShards(shards: 2, rowsPerShard: 100, rowGroup: 50, Directory.CreateDirectory(rotted).FullName);
        await _server.UploadAsync("data", "rotted/", rotted);
        _server.CorruptStoredObject("data", "rotted/part-001.parquet", new FileInfo(Path.Combine(rotted, "part-001.parquet")).Length / 2, 4);

        var options = _server.SourceOptions(Path.Combine(_work.FullName, "cache-rotted"));
        options.VerifyChecksums = true;
        await using var source = await ShardSource.OpenAsync("s3://data/rotted", options);
        await using var dataset = await ParquetDataset.OpenAsync(source, new TensorColumns("x", "y"));
        await using var loader = Pipeline.From(dataset, dataset.CreateSampler(new ShardingOptions { World = World.Single, BatchSize = 16, Shuffle = false }))
            .Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2 });
        var error = await Assert.ThrowsAsync<DataLoaderException>(async () =>
        {
            await foreach (var batch in loader.ReadEpochAsync())
            {
                batch.Dispose();
            }
        });

        var message = error.ToString();
        Assert.Contains("The shard s3://data/rotted/part-001.parquet downloaded with MD5 ", message);
        Assert.Contains("the storage lists ", message);
    }
}
