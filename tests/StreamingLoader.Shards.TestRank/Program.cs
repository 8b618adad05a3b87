using System.Globalization;
using StreamingLoader;
using StreamingLoader.Batching;
using StreamingLoader.Parquet;
using StreamingLoader.Shards;

// One rank of a distributed job, as torchrun starts it: RANK, WORLD_SIZE, LOCAL_RANK and LOCAL_WORLD_SIZE from the
// environment. Reads one epoch of the Parquet shards at LOCATION with WORKERS worker threads and writes each sample's
// label, one a line, to OUTPUT.
// Usage: TestRank LOCATION ENDPOINT CACHE_DIR CACHE_BYTES WORKERS OUTPUT [PREFETCH]
var (location, endpoint, cache, cacheBytes, workers, output) = (args[0], args[1], args[2], long.Parse(args[3], CultureInfo.InvariantCulture), int.Parse(args[4], CultureInfo.InvariantCulture), args[5]);
var prefetch = args.Length > 6 ? int.Parse(args[6], CultureInfo.InvariantCulture) : 2;
var world = World.FromEnvironment();
var options = new ShardSourceOptions
{
    Suffix = ".parquet",
    S3ServiceUrl = endpoint == "-" ? null : new Uri(endpoint),
    S3AccessKey = "S3RVER",
    S3SecretKey = "S3RVER",
    CacheDirectory = cache,
    CacheBytes = cacheBytes,
    PrefetchShards = prefetch,
    Retry = new RetryPolicy { MaxAttempts = 40, InitialDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromMilliseconds(250) },
};
await using var source = await ShardSource.OpenAsync(location, options);
await using var dataset = await ParquetDataset.OpenAsync(source, new TensorColumns("x", "y"));
var sampler = dataset.CreateSampler(new ShardingOptions { World = world, BatchSize = 32, WindowUnits = 2 });
await using var loader = Pipeline.From(dataset, sampler).Build(Collate.Columns(dataset), new LoaderOptions { Workers = workers, Seed = 99 });
await using var writer = new StreamWriter(output);
var batches = 0;
await foreach (var batch in loader.ReadEpochAsync())
{
    using (batch)
    {
        foreach (var label in batch.Labels.AsSpan<long>().ToArray())
        {
            await writer.WriteLineAsync(label.ToString(CultureInfo.InvariantCulture));
        }

        batches++;
    }
}

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{world}: {batches} batches of {sampler.BatchesPerEpoch}, {sampler.SamplesPerRank} samples; fetched {source.BytesFetched} bytes, {source.Retries} retries"));
