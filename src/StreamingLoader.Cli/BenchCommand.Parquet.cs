using System.Buffers.Binary;
using System.CommandLine;
using System.Globalization;
using System.Text;
using StreamingLoader.Batching;
using StreamingLoader.Parquet;
using StreamingLoader.Shards;

namespace StreamingLoader.Cli;

/// <summary>
/// <c>streamingloader bench parquet</c>: every DIR/parquet/*.parquet (x: 32 float32, y: int64) through the sharded
/// sampler, shuffled, batch 256; or the same shards from an S3 endpoint with a cold cache each timed epoch.
/// </summary>
internal static partial class BenchCommand
{
    private const int ParquetFeatures = 32;

    private static Command CreateParquet()
    {
        var data = new Option<DirectoryInfo>("--data") { Description = "Directory holding parquet/*.parquet.", Required = true };
        var batch = BatchOption();
        var workers = WorkersOption();
        var json = JsonOption();
        var generate = new Option<int>("--generate") { Description = "Write ROWS random rows as DIR/parquet/*.parquet and the same rows as DIR/npy/*.npy and DIR/tensor.bin, then exit." };
        var shards = new Option<int>("--shards") { Description = "Shards to write with --generate.", DefaultValueFactory = _ => 16 };
        var location = new Option<string?>("--location") { Description = "Read the shards from here instead (s3://bucket/prefix, http://...), through a cold cache each timed epoch." };
        var endpoint = new Option<string?>("--s3-endpoint") { Description = "S3-compatible endpoint for --location s3://..." };
        var upload = new Option<string?>("--upload-to") { Description = "Upload DIR/parquet/*.parquet to this s3://bucket/prefix at --s3-endpoint (creating the bucket), then exit." };
        var window = new Option<int>("--window") { Description = "Row groups shuffled together.", DefaultValueFactory = _ => 4 };
        var prefetchShards = new Option<int?>("--prefetch-shards") { Description = "Remote shards downloaded ahead (ShardSourceOptions.PrefetchShards)." };
        var readMode = new Option<RemoteReadMode>("--read-mode") { Description = "How remote shards are read: WholeShards (into the cache) or Ranges (ShardSourceOptions.ReadMode)." };
        var checksums = new Option<bool>("--checksums") { Description = "Check each download's MD5 against the storage's (ShardSourceOptions.VerifyChecksums = true; by default only its length is checked)." };
        var serverPid = new Option<int?>("--server-pid") { Description = "Also report the CPU seconds this process (the storage server, on this machine) spends per timed epoch." };
        var noDecodeAhead = new Option<bool>("--no-decode-ahead") { Description = "Decode each row group in the worker that first needs it, not ahead on a background task." };
        var metrics = new MetricsOptions();
        var command = new Command("parquet", "Parquet shards DIR/parquet/*.parquet of x: list<float32>[32], y: int64; row groups shuffled, rows shuffled in windows.") { data, batch, workers, json, generate, shards, location, endpoint, window, upload, noDecodeAhead, prefetchShards, readMode, checksums, serverPid };
        metrics.AddTo(command);
        command.SetAction(async (result, ct) =>
        {
            var root = result.GetValue(data)!.FullName;
            if (result.GetValue(generate) is > 0 and var rows)
            {
                GenerateShards(root, rows, result.GetValue(shards));
                return 0;
            }

            var folder = Path.Combine(root, "parquet");
            if (result.GetValue(upload) is { } target)
            {
                await UploadAsync(folder, target, EndpointOf(result.GetValue(endpoint)), ct);
                return 0;
            }

            var remote = result.GetValue(location);
            if (remote is null && !Directory.Exists(folder))
            {
                await Console.Error.WriteLineAsync($"error: {folder} does not exist (streamingloader bench parquet --data DIR --generate 1000000 writes it).");
                return 2;
            }

            await using var server = await metrics.StartAsync(result, Console.Error, "streamingloader-bench", ct);
            var options = new LoaderOptions { Workers = result.GetValue(workers), Seed = 1, Name = "bench-parquet" };
            var sharding = new ShardingOptions { World = World.Single, BatchSize = result.GetValue(batch), WindowUnits = result.GetValue(window) };
            var caches = new List<string>();
            ShardSource? source = null;
            ParquetDataset? dataset = null;
            DataLoader Build()
            {
                // The loader of the previous epoch is disposed by now: so is its dataset, which holds its decoded row groups.
                dataset?.Dispose();
                source?.Dispose();
                var sourceOptions = new ShardSourceOptions { Suffix = ".parquet", S3ServiceUrl = EndpointOf(result.GetValue(endpoint)), S3AccessKey = "S3RVER", S3SecretKey = "S3RVER", ReadMode = result.GetValue(readMode), VerifyChecksums = result.GetValue(checksums) };
                if (result.GetValue(prefetchShards) is { } ahead)
                {
                    sourceOptions.PrefetchShards = ahead;
                }

                if (remote is not null)
                {
                    // A cold cache for every loader: each timed epoch downloads every shard.
                    sourceOptions.CacheDirectory = Path.Combine(Path.GetTempPath(), "streamingloader-bench-cache-" + Guid.NewGuid().ToString("N"));
                    caches.Add(sourceOptions.CacheDirectory);
                }

                source = ShardSource.OpenAsync(remote ?? folder, sourceOptions, ct).GetAwaiter().GetResult();
                var datasetOptions = new ParquetDatasetOptions { DecodedUnits = 4 * sharding.WindowUnits * Math.Max(2, options.Workers), DecodeAhead = !result.GetValue(noDecodeAhead) };
                dataset = ParquetDataset.OpenAsync(source, new TensorColumns("x", "y"), datasetOptions, ct).GetAwaiter().GetResult();
                return Pipeline.From(dataset, dataset.CreateSampler(sharding)).Build(Collate.Columns(dataset), options);
            }

            try
            {
                var figures = await RunAsync(remote is null ? "parquet" : "parquet-remote", Build, ct, serverPid: result.GetValue(serverPid));
                var last = dataset!;
                await Console.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"row groups: {last.RowsPerUnit.Count} in {last.Source.Shards.Count} shards, {last.RowGroupsDecoded} decoded in the last timed epoch; {last.Source.BytesFetched:N0} bytes fetched, {last.Source.Retries} retries"));
                Report(figures, result.GetValue(json));
            }
            finally
            {
                if (dataset is not null)
                {
                    await dataset.DisposeAsync();
                }

                if (source is not null)
                {
                    await source.DisposeAsync();
                }

                foreach (var cache in caches)
                {
                    Directory.Delete(cache, recursive: true);
                }
            }

            return 0;
        });
        return command;
    }

    /// <summary>
    /// The benchmark's rows, three ways: Parquet shards (row groups of 16,384), the same rows as .npy shards for the
    /// PyTorch anchor, and all rows in one raw file (tensor.bin: int32 rows, int32 features, floats, int64 labels).
    /// </summary>
    private static void GenerateShards(string root, int rows, int shardCount)
    {
        var parquet = Directory.CreateDirectory(Path.Combine(root, "parquet")).FullName;
        var npy = Directory.CreateDirectory(Path.Combine(root, "npy")).FullName;
        var random = new CounterRandom(7, 0, 0);
        using var all = File.Create(Path.Combine(root, "tensor.bin"));
        Span<byte> header = stackalloc byte[8];
        BinaryPrimitives.WriteInt32LittleEndian(header, rows);
        BinaryPrimitives.WriteInt32LittleEndian(header[4..], ParquetFeatures);
        all.Write(header);
        var allLabels = new List<long>(rows);
        for (var s = 0; s < shardCount; s++)
        {
            var start = (int)((long)rows * s / shardCount);
            var count = (int)((long)rows * (s + 1) / shardCount) - start;
            var x = new float[count * ParquetFeatures];
            var y = new long[count];
            for (var i = 0; i < x.Length; i++)
            {
                x[i] = random.NextSingle();
            }

            for (var i = 0; i < y.Length; i++)
            {
                y[i] = random.NextInt32(10);
            }

            var name = string.Create(CultureInfo.InvariantCulture, $"part-{s:D5}");
            ParquetShardWriter.Write(Path.Combine(parquet, name + ".parquet"), x, ParquetFeatures, y);
            WriteNpy(Path.Combine(npy, name + ".x.npy"), "<f4", [count, ParquetFeatures], System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()));
            WriteNpy(Path.Combine(npy, name + ".y.npy"), "<i8", [count], System.Runtime.InteropServices.MemoryMarshal.AsBytes(y.AsSpan()));
            all.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()));
            allLabels.AddRange(y);
        }

        all.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(allLabels.ToArray().AsSpan()));
        Console.Error.WriteLine($"wrote {rows:N0} rows as {shardCount} Parquet shards in {parquet}, .npy shards in {npy} and {Path.Combine(root, "tensor.bin")}");
    }

    private static Uri? EndpointOf(string? text) => text is null ? null : new Uri(text);

    /// <summary>Uploads the shards to an S3-compatible endpoint with the SDK (single-part, unsigned-chunk uploads: any server takes them).</summary>
    private static async Task UploadAsync(string folder, string target, Uri? endpoint, CancellationToken cancellationToken)
    {
        var rest = target["s3://".Length..];
        var bucket = rest.Split('/')[0];
        var prefix = rest.Length > bucket.Length + 1 ? rest[(bucket.Length + 1)..].TrimEnd('/') + "/" : "";
        var config = new Amazon.S3.AmazonS3Config
        {
            ServiceURL = endpoint?.ToString(),
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = Amazon.Runtime.RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = Amazon.Runtime.ResponseChecksumValidation.WHEN_REQUIRED,
        };
        using var client = new Amazon.S3.AmazonS3Client(new Amazon.Runtime.BasicAWSCredentials("S3RVER", "S3RVER"), config);
        try
        {
            await client.PutBucketAsync(bucket, cancellationToken);
        }
        catch (Amazon.S3.AmazonS3Exception ex) when (ex.StatusCode == System.Net.HttpStatusCode.Conflict)
        {
        }

        foreach (var file in Directory.GetFiles(folder, "*.parquet").Order(StringComparer.Ordinal))
        {
            await client.PutObjectAsync(new Amazon.S3.Model.PutObjectRequest { BucketName = bucket, Key = prefix + Path.GetFileName(file), FilePath = file, UseChunkEncoding = false }, cancellationToken);
        }

        await Console.Error.WriteLineAsync($"uploaded {folder}/*.parquet to {target}");
    }

    /// <summary>NumPy's .npy format, version 1.0: magic, header length, a Python dict padded to 64 bytes, raw data.</summary>
    private static void WriteNpy(string path, string dtype, int[] shape, ReadOnlySpan<byte> data)
    {
        var dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        var dict = $"{{'descr': '{dtype}', 'fortran_order': False, 'shape': ({dims}), }}";
        var total = 10 + dict.Length + 1;
        dict = dict.PadRight(dict.Length + ((64 - (total % 64)) % 64)) + "\n";
        using var file = File.Create(path);
        file.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        Span<byte> length = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)dict.Length);
        file.Write(length);
        file.Write(Encoding.ASCII.GetBytes(dict));
        file.Write(data);
    }
}
