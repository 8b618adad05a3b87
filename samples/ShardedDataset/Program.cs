using System.Diagnostics;
using System.Globalization;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using StreamingLoader;
using StreamingLoader.Batching;
using StreamingLoader.CpuTraining;
using StreamingLoader.Datasets;
using StreamingLoader.Parquet;
using StreamingLoader.Shards;

// Fashion-MNIST as 16 Parquet shards on an S3 endpoint, read by 2 ranks in 2 processes.
//   ShardedDataset --s3-endpoint http://127.0.0.1:4568            write the shards, start 2 ranks, check their union
//   (a rank: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE set as torchrun sets them, and --rank-output FILE)
var endpoint = new Uri(Argument("--s3-endpoint") ?? "http://127.0.0.1:4568");
var rankOutput = Argument("--rank-output");
const string Location = "s3://fashion/train";
if (rankOutput is not null)
{
    return await RunRankAsync(endpoint, rankOutput);
}

var work = Directory.CreateTempSubdirectory("sharded-sample-").FullName;
try
{
    // 1. Fashion-MNIST's 60,000 training images as float pixels in [0, 1] and int64 labels, 16 shards.
    var train = FashionMnist.Load();
    var images = new float[train.Count * 784];
    var labels = new long[train.Count];
    for (var i = 0; i < train.Count; i++)
    {
        var sample = train.GetItem(i);
        var pixels = sample.Features.Span;
        for (var p = 0; p < 784; p++)
        {
            images[(i * 784) + p] = pixels[p] / 255f;
        }

        labels[i] = sample.Label;
    }

    var shards = Directory.CreateDirectory(Path.Combine(work, "shards")).FullName;
    for (var s = 0; s < 16; s++)
    {
        var (start, end) = (train.Count * s / 16, train.Count * (s + 1) / 16);
        ParquetShardWriter.Write(Path.Combine(shards, $"part-{s:D2}.parquet"), images.AsSpan(start * 784, (end - start) * 784), 784, labels.AsSpan(start, end - start), rowGroupRows: 1024, featuresColumn: "image", labelColumn: "label");
    }

    await UploadAsync(endpoint, shards);
    Console.WriteLine($"Wrote {train.Count} Fashion-MNIST images as 16 Parquet shards to {Location} at {endpoint}");

    // 2. Two ranks in two processes, as torchrun would start them.
    var ranks = Enumerable.Range(0, 2).Select(rank => StartRank(rank, 2, endpoint, Path.Combine(work, $"rank{rank}.txt"))).ToList();
    foreach (var rank in ranks)
    {
        Console.Write(await rank.StandardOutput.ReadToEndAsync());
        await rank.WaitForExitAsync();
        if (rank.ExitCode != 0)
        {
            Console.Error.WriteLine(await rank.StandardError.ReadToEndAsync());
            return 1;
        }
    }

    // 3. The union check: every image exactly once over the ranks.
    var shares = Enumerable.Range(0, 2).Select(r => File.ReadAllLines(Path.Combine(work, $"rank{r}.txt")).Select(long.Parse).ToList()).ToList();
    var union = shares.SelectMany(s => s).ToList();
    var exact = union.Count == train.Count && union.Distinct().Count() == train.Count;
    Console.WriteLine($"Union check: {string.Join(" + ", shares.Select(s => s.Count))} = {union.Count} samples, {union.Distinct().Count()} distinct of {train.Count}: {(exact ? "every sample exactly once" : "NOT EXACT")}");
    return exact ? 0 : 1;
}
finally
{
    Directory.Delete(work, recursive: true);
}

static async Task<int> RunRankAsync(Uri endpoint, string output)
{
    var world = World.FromEnvironment();
    await using var source = await ShardSource.OpenAsync(Location, new ShardSourceOptions
    {
        Suffix = ".parquet",
        S3ServiceUrl = endpoint,
        S3AccessKey = "S3RVER",
        S3SecretKey = "S3RVER",
        CacheDirectory = Path.Combine(Path.GetTempPath(), $"sharded-sample-cache-{world.LocalRank}"),
    });
    await using var dataset = await ParquetDataset.OpenAsync(source, new TensorColumns("image", "label"));
    var sampler = dataset.CreateSampler(new ShardingOptions { World = world, BatchSize = 64 });
    await using var loader = Pipeline.From(dataset, sampler).Build(Collate.Columns(dataset), new LoaderOptions { Seed = 7, Workers = 2 });

    // Each rank trains softmax regression on its share (no gradient exchange here: this shows the data split).
    var model = CpuModels.SoftmaxRegression(features: 784, classes: 10, learningRate: 0.05f, seed: 1);
    var seen = new List<long>();
    var result = await model.TrainEpochAsync(loader, (batch, _) => seen.AddRange(batch.SampleIndices.ToArray()));
    await File.WriteAllLinesAsync(output, seen.Select(i => i.ToString(CultureInfo.InvariantCulture)));
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"Rank {world.Rank} of {world.WorldSize}: {seen.Count} samples in {sampler.BatchesPerEpoch} batches, indices {seen.Min()}..{seen.Max()}, train loss {result.MeanLoss:F4}; fetched {source.BytesFetched:N0} of {source.Shards.Sum(s => s.Length):N0} bytes"));
    return 0;
}

static Process StartRank(int rank, int worldSize, Uri endpoint, string output)
{
    var start = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
    if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
    {
        start.ArgumentList.Add(typeof(World).Assembly.Location.Replace("StreamingLoader.Shards.dll", "ShardedDataset.dll", StringComparison.Ordinal));
    }

    foreach (var argument in new[] { "--s3-endpoint", endpoint.ToString(), "--rank-output", output })
    {
        start.ArgumentList.Add(argument);
    }

    start.Environment["RANK"] = rank.ToString(CultureInfo.InvariantCulture);
    start.Environment["WORLD_SIZE"] = worldSize.ToString(CultureInfo.InvariantCulture);
    start.Environment["LOCAL_RANK"] = rank.ToString(CultureInfo.InvariantCulture);
    start.Environment["LOCAL_WORLD_SIZE"] = worldSize.ToString(CultureInfo.InvariantCulture);
    return Process.Start(start)!;
}

static async Task UploadAsync(Uri endpoint, string folder)
{
    using var client = new AmazonS3Client(new BasicAWSCredentials("S3RVER", "S3RVER"), new AmazonS3Config
    {
        ServiceURL = endpoint.ToString(),
        ForcePathStyle = true,
        AuthenticationRegion = "us-east-1",
        RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
    });
    try
    {
        await client.PutBucketAsync("fashion");
    }
    catch (AmazonS3Exception ex) when (ex.StatusCode == System.Net.HttpStatusCode.Conflict)
    {
    }

    foreach (var file in Directory.GetFiles(folder))
    {
        await client.PutObjectAsync(new PutObjectRequest { BucketName = "fashion", Key = "train/" + Path.GetFileName(file), FilePath = file, UseChunkEncoding = false });
    }
}

string? Argument(string name)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
}
