using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using StreamingLoader.Shards.Internal;

namespace StreamingLoader.Shards.Storage;

/// <summary>Shards in an S3 bucket under a prefix, on AWS or any S3-compatible endpoint (path-style addressing there).</summary>
internal sealed class S3Storage : IShardStorage
{
    private readonly AmazonS3Client _client;
    private readonly string _bucket;
    private readonly string _prefix;

    public S3Storage(string bucket, string prefix, ShardSourceOptions options)
    {
        _bucket = bucket;
        _prefix = prefix.Length == 0 || prefix.EndsWith('/') ? prefix : prefix + "/";
        var config = new AmazonS3Config
        {
            // Our RetryPolicy retries, with the loader's backoff; the SDK's own retries would multiply it.
            MaxErrorRetry = 0,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (options.S3ServiceUrl is { } endpoint)
        {
            config.ServiceURL = endpoint.ToString();
            config.ForcePathStyle = true;
            config.AuthenticationRegion = options.S3Region ?? "us-east-1";
        }
        else
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(options.S3Region ?? "us-east-1");
        }

        _client = options.S3AccessKey is { } key
            ? new AmazonS3Client(new BasicAWSCredentials(key, options.S3SecretKey ?? ""), config)
            : new AmazonS3Client(config);
    }

    public bool IsLocal => false;

    public string Describe(string key) => $"s3://{_bucket}/{_prefix}{key}";

    public string LocalPath(string key) => throw new NotSupportedException();

    public async Task<IReadOnlyList<StoredObject>> ListAsync(string suffix, CancellationToken cancellationToken)
    {
        var found = new List<StoredObject>();
        var request = new ListObjectsV2Request { BucketName = _bucket, Prefix = _prefix };
        while (true)
        {
            var response = await Call(() => _client.ListObjectsV2Async(request, cancellationToken), $"s3://{_bucket}/{_prefix}").ConfigureAwait(false);
            foreach (var item in response.S3Objects ?? [])
            {
                if (item.Key.EndsWith(suffix, StringComparison.Ordinal))
                {
                    found.Add(new StoredObject(item.Key[_prefix.Length..], item.Size ?? 0, Md5Of(item.ETag)));
                }
            }

            if (response.IsTruncated != true)
            {
                break;
            }

            request.ContinuationToken = response.NextContinuationToken;
        }

        return [.. found.OrderBy(o => o.Key, StringComparer.Ordinal)];
    }

    public async Task<StoredObject> StatAsync(string key, CancellationToken cancellationToken)
    {
        var response = await Call(() => _client.GetObjectMetadataAsync(_bucket, _prefix + key, cancellationToken), Describe(key)).ConfigureAwait(false);
        return new StoredObject(key, response.ContentLength, Md5Of(response.ETag));
    }

    public async Task<int> ReadRangeAsync(string key, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (buffer.Length == 0)
        {
            return 0;
        }

        var request = new GetObjectRequest { BucketName = _bucket, Key = _prefix + key, ByteRange = new ByteRange(offset, offset + buffer.Length - 1) };
        using var response = await Call(() => _client.GetObjectAsync(request, cancellationToken), Describe(key)).ConfigureAwait(false);
        var stream = new NetworkErrorStream(response.ResponseStream, response, Describe(key));
        await using (stream.ConfigureAwait(false))
        {
            return await HttpStorage.ReadFullyAsync(stream, buffer, new Uri(Describe(key)), cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<Stream> OpenReadAsync(string key, long offset, long end, CancellationToken cancellationToken)
    {
        // Always a range, even of the whole object: the SDK hashes a whole-object response with its managed MD5 (a
        // quarter of the CPU of a cold-cache epoch, measured), and the cache checks the MD5 itself when asked to.
        var request = new GetObjectRequest { BucketName = _bucket, Key = _prefix + key, ByteRange = new ByteRange(offset, end - 1) };

        var response = await Call(() => _client.GetObjectAsync(request, cancellationToken), Describe(key)).ConfigureAwait(false);
        return new NetworkErrorStream(response.ResponseStream, response, Describe(key));
    }

    /// <summary>S3's ETag is the object's MD5 unless it was uploaded in parts ("…-N").</summary>
    private static string? Md5Of(string? etag)
    {
        var value = etag?.Trim('"');
        return value is { Length: 32 } && value.All(Uri.IsHexDigit) ? value.ToLowerInvariant() : null;
    }

    /// <summary>Calls S3, turning its failures into the exceptions the retry policy understands.</summary>
    private static async Task<T> Call<T>(Func<Task<T>> call, string address)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode != 0)
        {
            throw ex.StatusCode == HttpStatusCode.NotFound || ex.ErrorCode is "NoSuchKey" or "NoSuchBucket"
                ? new FileNotFoundException($"{address} does not exist ({ex.ErrorCode}).", address, ex)
                : ex.StatusCode is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized
                    ? new UnauthorizedAccessException($"{address}: access denied ({ex.ErrorCode}).", ex)
                    : new IOException($"{address}: S3 answered {(int)ex.StatusCode} {ex.ErrorCode}: {ex.Message}", ex);
        }
        catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException or IOException && ex is not FileNotFoundException)
        {
            throw HttpStorage.Translate(ex, address);
        }
    }

    public void Dispose() => _client.Dispose();
}
