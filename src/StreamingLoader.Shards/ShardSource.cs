using System.Globalization;
using StreamingLoader.Shards.Internal;
using StreamingLoader.Shards.Storage;

namespace StreamingLoader.Shards;

/// <summary>
/// The shards of a dataset where they lie: a local folder, <c>http(s)://host/path/</c> (range requests) or
/// <c>s3://bucket/prefix</c> on AWS or any S3-compatible endpoint. Remote shards are read through a bounded local
/// cache shared by the processes of a node, the next ones prefetched, transient errors retried with a
/// <see cref="RetryPolicy"/>; or, in <see cref="RemoteReadMode.Ranges"/>, fetched by byte range.
/// </summary>
/// <remarks>Readers (a Parquet, Arrow or tar dataset) open it; dispose it after them.</remarks>
public sealed class ShardSource : IAsyncDisposable, IDisposable
{
    private const int TailBytes = 64 * 1024;
    private const int KeptTails = 64;
    private readonly IShardStorage _storage;
    private readonly IReadOnlyList<StoredObject> _objects;
    private readonly ShardSourceOptions _options;
    private readonly ShardCache? _cache;
    private readonly Retrier _retrier;
    private readonly ShardPrefetcher? _prefetcher;
    private readonly bool _readWhileDownloading;
    private readonly Dictionary<int, (long Start, byte[] Bytes)> _tails = [];
    private long _rangeBytes;
    private long _openedWhileDownloading;
    private int _disposed;

    private ShardSource(string location, IShardStorage storage, IReadOnlyList<StoredObject> objects, ShardSourceOptions options)
    {
        Location = location;
        _storage = storage;
        _objects = objects;
        _options = options;
        _retrier = new Retrier(options.Retry, TimeProvider.System);
        Shards = [.. objects.Select(o => new ShardInfo(o.Key, storage.Describe(o.Key), o.Length))];
        if (!storage.IsLocal && options.ReadMode == RemoteReadMode.WholeShards)
        {
            _cache = new ShardCache(options.CacheDirectory, options.CacheBytes, TimeProvider.System, options.VerifyChecksums);
            if (options.PrefetchShards > 0)
            {
                // Shards not yet reached take at most half the cache, so that they do not push out the ones being read.
                _prefetcher = new ShardPrefetcher(options.PrefetchShards, options.CacheBytes / 2, shard => _objects[shard].Length, (shard, ct) => CachedPathAsync(shard, ct));

                // A checked download is read once verified; one checked by length alone, while it arrives.
                _readWhileDownloading = !options.VerifyChecksums;
            }
        }
    }

    /// <summary>
    /// Lists the shards at <paramref name="location"/> whose names end with <see cref="ShardSourceOptions.Suffix"/>, in
    /// name order: a local folder (or <c>file://</c>), <c>http(s)://…/</c> (names from the options or the folder's
    /// <c>index.txt</c>), or <c>s3://bucket/prefix</c>.
    /// </summary>
    /// <exception cref="FileNotFoundException">No shard is there.</exception>
    public static async Task<ShardSource> OpenAsync(string location, ShardSourceOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        options = (options ?? new ShardSourceOptions()).Clone();
        var storage = CreateStorage(location, options);
        try
        {
            var retrier = new Retrier(options.Retry, TimeProvider.System);
            var objects = await retrier.RunAsync(_ => storage.ListAsync(options.Suffix, cancellationToken), $"Listing {location}", cancellationToken).ConfigureAwait(false);
            if (objects.Count == 0)
            {
                throw new FileNotFoundException($"No shard ending with '{options.Suffix}' is at {location}.", location);
            }

            return new ShardSource(location, storage, objects, options);
        }
        catch
        {
            storage.Dispose();
            throw;
        }
    }

    /// <summary>Gets the location the shards were listed from.</summary>
    public string Location { get; }

    /// <summary>Gets the shards, in name order (the dataset's canonical order).</summary>
    public IReadOnlyList<ShardInfo> Shards { get; }

    /// <summary>Gets the bytes fetched from remote storage by this process: whole shards downloaded and ranges read.</summary>
    public long BytesFetched => (_cache?.DownloadedBytes ?? 0) + Interlocked.Read(ref _rangeBytes);

    /// <summary>Gets the storage requests retried after a transient error.</summary>
    public long Retries => _retrier.Retries;

    /// <summary>Gets whether shards are read where they lie (a local folder).</summary>
    public bool IsLocal => _storage.IsLocal;

    internal ShardCache? Cache => _cache;

    /// <summary>Gets how many times a shard was opened while this process was still downloading it (read as it arrives).</summary>
    internal long OpenedWhileDownloading => Interlocked.Read(ref _openedWhileDownloading);

    /// <summary>Reads a byte range of a shard (a footer), with retries.</summary>
    internal async Task<int> ReadRangeAsync(int shard, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var key = _objects[shard].Key;
        var read = await _retrier.RunAsync(_ => _storage.ReadRangeAsync(key, offset, buffer, cancellationToken), $"Reading {_storage.Describe(key)}", cancellationToken).ConfigureAwait(false);
        if (!_storage.IsLocal)
        {
            Interlocked.Add(ref _rangeBytes, read);
        }

        return read;
    }

    /// <summary>Opens a shard for reading: where it lies, from the cache (downloading it first if needed), or by ranges.</summary>
    internal async Task<ShardFile> OpenShardAsync(int shard, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var stored = _objects[shard];
        var address = Shards[shard].Address;
        _prefetcher?.Reading(shard);
        if (_storage.IsLocal)
        {
            // The address of a local shard is its path.
            return new LocalShardFile(shard, address, address, stored.Length, null);
        }

        if (_cache is null)
        {
            return new RangeShardFile(shard, address, stored.Length, (offset, buffer) => ReadRangeAsync(shard, offset, buffer, CancellationToken.None).GetAwaiter().GetResult());
        }

        if (_readWhileDownloading && await DownloadingAsync(shard, cancellationToken).ConfigureAwait(false) is { } part)
        {
            var tail = await TailAsync(shard, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _openedWhileDownloading);
            return new GrowingShardFile(shard, address, stored.Length, part, tail, () => OpenCachedAsync(shard, CancellationToken.None).GetAwaiter().GetResult());
        }

        return await OpenCachedAsync(shard, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The shard from the cache, downloaded first if needed.</summary>
    private async Task<ShardFile> OpenCachedAsync(int shard, CancellationToken cancellationToken)
    {
        while (true)
        {
            var path = await CachedPathAsync(shard, cancellationToken).ConfigureAwait(false);
            var pin = _cache!.Pin(path);
            try
            {
                return new LocalShardFile(shard, Shards[shard].Address, path, _objects[shard].Length, pin);
            }
            catch (FileNotFoundException)
            {
                // Evicted by another process between its download and this open: fetch it again.
                pin.Dispose();
            }
        }
    }

    /// <summary>
    /// The part file of the shard when this process is downloading it (the prefetcher started it, and its part is
    /// open or about to be); null when it is cached, or fetched another way (by another process, or by this read).
    /// </summary>
    private async Task<PartFile?> DownloadingAsync(int shard, CancellationToken cancellationToken)
    {
        var path = _cache!.PathOf(Shards[shard].Address, _objects[shard].Key);
        while (true)
        {
            if (_cache.Filling(path) is { } part)
            {
                return part;
            }

            if (File.Exists(path) || _prefetcher?.IsFetching(shard) != true)
            {
                return null;
            }

            // Started, its part file not yet reserved.
            await Task.Delay(TimeSpan.FromMilliseconds(1), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The last 64 KiB of a shard (where a Parquet footer lies), fetched by range and kept for the next few shards.</summary>
    private async Task<(long Start, byte[] Bytes)> TailAsync(int shard, CancellationToken cancellationToken)
    {
        lock (_tails)
        {
            if (_tails.TryGetValue(shard, out var kept))
            {
                return kept;
            }
        }

        var length = _objects[shard].Length;
        var start = Math.Max(0, length - TailBytes);
        var bytes = new byte[length - start];
        var read = await ReadRangeAsync(shard, start, bytes, cancellationToken).ConfigureAwait(false);
        if (read != bytes.Length)
        {
            throw new EndOfStreamException($"{Shards[shard].Address} ended at {start + read:N0} bytes; it was listed with {length:N0}.");
        }

        lock (_tails)
        {
            if (_tails.Count >= KeptTails)
            {
                _tails.Clear();
            }

            _tails[shard] = (start, bytes);
        }

        return (start, bytes);
    }

    /// <summary>Tells the prefetcher the order this rank reads the shards in this epoch.</summary>
    internal void Plan(IReadOnlyList<int> shardOrder) => _prefetcher?.Plan(shardOrder);

    private Task<string> CachedPathAsync(int shard, CancellationToken cancellationToken)
    {
        var stored = _objects[shard];
        var address = _storage.Describe(stored.Key);
        return _retrier.RunAsync(
            _ => _cache!.GetAsync(stored, address, (part, ct) => RangedDownload.RunAsync(_storage, _retrier, stored.Key, address, part, ct), cancellationToken),
            $"Fetching {address}",
            cancellationToken);
    }

    private static IShardStorage CreateStorage(string location, ShardSourceOptions options)
    {
        if (location.StartsWith("s3://", StringComparison.OrdinalIgnoreCase))
        {
            var rest = location[5..];
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            var bucket = slash < 0 ? rest : rest[..slash];
            if (bucket.Length == 0)
            {
                throw new ArgumentException($"The location '{location}' names no bucket: use s3://bucket/prefix.", nameof(location));
            }

            return new S3Storage(bucket, slash < 0 ? "" : rest[(slash + 1)..], options);
        }

        if (location.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || location.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            var uri = new Uri(location.EndsWith('/') ? location : location + "/");
            return new HttpStorage(uri, options.HttpShardNames, options.HttpClient);
        }

        var path = location.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? new Uri(location).LocalPath : location;
        return new LocalStorage(Path.GetFullPath(path));
    }

    /// <inheritdoc/>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Location}: {Shards.Count} shards");

    /// <summary>Stops prefetching (awaiting the downloads under way) and closes the storage client.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_prefetcher is not null)
        {
            await _prefetcher.DisposeAsync().ConfigureAwait(false);
        }

        _storage.Dispose();
    }

    /// <inheritdoc cref="DisposeAsync"/>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
