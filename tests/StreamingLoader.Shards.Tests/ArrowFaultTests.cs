using StreamingLoader.Parquet;

namespace StreamingLoader.Shards.Tests;

/// <summary>
/// A large Arrow IPC file on s3rver, read by the Arrow reader's own range requests (no cache), the server killed in
/// the middle of the epoch and started again.
/// </summary>
public sealed class ArrowFaultTests : IAsyncLifetime
{
    private const int Rows = 16_000;
    private const int Width = 1024;
    private readonly S3Server _server = new();
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("streamingloader-arrow-fault-");
    private long _length;

    public async Task InitializeAsync()
    {
        await _server.InitializeAsync();

        // 64 MB in record batches of 1,000 rows; row i has label i.
        var folder = ArrowShards.WriteTensors(shards: 1, rowsPerShard: Rows, batchRows: 1000, features: Width, folder: Directory.CreateDirectory(Path.Combine(_work.FullName, "big")).FullName);
        _length = new DirectoryInfo(folder).GetFiles().Single().Length;
        await _server.UploadAsync("data", "big/", folder);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _work.Delete(recursive: true);
    }

    [Fact]
    public async Task Ranges_ServerKilledMidEpochAndRestarted_RetriedAndEveryRowOnce()
    {
        var options = _server.SourceOptions(Path.Combine(_work.FullName, "cache"), ".arrow");
        options.ReadMode = RemoteReadMode.Ranges;
        options.Retry = new RetryPolicy { MaxAttempts = 40, InitialDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromMilliseconds(250) };
        await using var source = await ShardSource.OpenAsync("s3://data/big", options);
        await using var dataset = await ArrowDataset.OpenAsync(source, new TensorColumns("x", "y"));
        var sampler = dataset.CreateSampler(new ShardingOptions { World = World.Single, BatchSize = 500 });
        await using var loader = Pipeline.From(dataset, sampler).Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2, Seed = 5 });

        // The consumer holds the first batch until the server is down, so the epoch cannot end before the kill.
        using var killed = new SemaphoreSlim(0);
        var reading = Task.Run(async () =>
        {
            var labels = new List<long>();
            await foreach (var batch in loader.ReadEpochAsync())
            {
                using (batch)
                {
                    var x = batch.Features.AsSpan<float>();
                    var y = batch.Labels.AsSpan<long>();
                    for (var r = 0; r < batch.Count; r++)
                    {
                        Assert.Equal((y[r] * 1000f) + (Width - 1), x[(r * Width) + Width - 1]);
                    }

                    labels.AddRange(y.ToArray());
                }

                if (labels.Count == 500)
                {
                    await killed.WaitAsync();
                }
            }

            return labels;
        });

        while (source.BytesFetched == 0)
        {
            Assert.False(reading.IsCompleted, "The epoch ended before anything was fetched.");
            await Task.Delay(1);
        }

        var fetchedBeforeKill = source.BytesFetched;
        _server.Kill();
        killed.Release();

        // Start it again only once a range request has failed against the dead server and is being retried.
        for (var waited = 0; source.Retries == 0; waited++)
        {
            Assert.True(waited < 30_000 && !reading.IsCompleted, "No range request was retried while the server was down.");
            await Task.Delay(1);
        }

        await _server.StartAsync();
        var labels = await reading;

        Assert.InRange(fetchedBeforeKill, 1, _length - 1);
        Assert.Equal(Enumerable.Range(0, Rows).Select(i => (long)i), labels.Order());
    }
}
