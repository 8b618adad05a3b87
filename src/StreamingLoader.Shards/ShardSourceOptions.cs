namespace StreamingLoader.Shards;

/// <summary>Where a <see cref="ShardSource"/> caches remote shards, how far it reads ahead and how it reaches the storage.</summary>
/// <remarks>
/// Defaults: <see cref="Suffix"/> "" (every object), <see cref="CacheDirectory"/> a folder under the system's temporary
/// folder, <see cref="CacheBytes"/> 8 GiB, <see cref="PrefetchShards"/> 4, <see cref="Retry"/> 5 attempts from 50 ms to
/// 2 s, <see cref="ReadMode"/> <see cref="RemoteReadMode.WholeShards"/>, <see cref="VerifyChecksums"/> false (every download's length is checked, not its MD5); S3 from the SDK's usual configuration
/// (environment variables, profile) unless set here.
/// </remarks>
public sealed class ShardSourceOptions
{
    private long _cacheBytes = 8L << 30;
    private int _prefetchShards = 4;
    private RetryPolicy _retry = new() { MaxAttempts = 5, InitialDelay = TimeSpan.FromMilliseconds(50), MaxDelay = TimeSpan.FromSeconds(2) };

    /// <summary>Gets or sets the ending of the shards' names (".parquet", ".tar"); other objects are ignored.</summary>
    public string Suffix { get; set; } = "";

    /// <summary>
    /// Gets or sets the folder of the local shard cache. Processes on one node may share it (each takes its lock to
    /// reserve room and renames finished downloads into place), and together stay within <see cref="CacheBytes"/>.
    /// </summary>
    public string CacheDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "streamingloader-shards");

    /// <summary>Gets or sets the most bytes the cache holds, over every process that shares it; the least recently used shards go first.</summary>
    public long CacheBytes
    {
        get => _cacheBytes;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _cacheBytes = value;
        }
    }

    /// <summary>
    /// Gets or sets how many shards after the one being read are downloaded ahead (at most half of
    /// <see cref="CacheBytes"/> of them). 0 turns prefetch off. Four at once (the default) cost an S3 server less CPU
    /// per byte than two (s3rver on loopback: a cold epoch 15 % less CPU, server and loader together).
    /// </summary>
    public int PrefetchShards
    {
        get => _prefetchShards;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _prefetchShards = value;
        }
    }

    /// <summary>
    /// Gets or sets the retries of a storage request that failed with a transient error (a reset connection, a 5xx
    /// answer, a timeout: the storage reports them as <see cref="IOException"/>, which
    /// <see cref="RetryPolicy.IsTransientByDefault"/> retries). An interrupted download resumes where it stopped.
    /// </summary>
    public RetryPolicy Retry
    {
        get => _retry;
        set => _retry = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>
    /// Gets or sets whether a downloaded shard's MD5 is checked against the one the storage lists (S3's ETag of an object
    /// uploaded in one part), hashed as the bytes arrive (the shard then comes in one stream rather than in ranges side by
    /// side, and is read only once checked); a mismatch fails the download with both sums. Off by
    /// default: every download's length is checked, and TCP and HTTP already check the transfer. Turn it on to catch
    /// objects that rotted in the storage (same length, other bytes). Hashing costs about 0.3 CPU-s per 170 MB
    /// (measured on the benchmark's shards), up to a third of a cold epoch's CPU on two cores; Mosaic's
    /// StreamingDataset (<c>validate_hash</c>) and Hugging Face <c>datasets</c> (<c>verification_mode</c>) also leave
    /// content hashes off by default. An object uploaded in parts has no MD5 to check against, either way.
    /// </summary>
    public bool VerifyChecksums { get; set; }

    /// <summary>Gets or sets how remote shards are read: downloaded whole into the cache, or by byte range.</summary>
    public RemoteReadMode ReadMode { get; set; } = RemoteReadMode.WholeShards;

    /// <summary>Gets or sets the endpoint of an S3-compatible server (MinIO, s3rver, Ceph); null for AWS.</summary>
    public Uri? S3ServiceUrl { get; set; }

    /// <summary>Gets or sets the S3 region (us-east-1 when null).</summary>
    public string? S3Region { get; set; }

    /// <summary>Gets or sets the S3 access key; null takes the SDK's credentials (environment, profile, instance role).</summary>
    public string? S3AccessKey { get; set; }

    /// <summary>Gets or sets the S3 secret key that goes with <see cref="S3AccessKey"/>.</summary>
    public string? S3SecretKey { get; set; }

    /// <summary>Gets or sets the shard names of an HTTP location, which has no listing; null reads them from its <c>index.txt</c>.</summary>
    public IReadOnlyList<string>? HttpShardNames { get; set; }

    /// <summary>Gets or sets the client for HTTP locations; null creates one.</summary>
    public HttpClient? HttpClient { get; set; }

    internal ShardSourceOptions Clone() => (ShardSourceOptions)MemberwiseClone();
}
