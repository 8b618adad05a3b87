using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace StreamingLoader.Shards.Internal;

/// <summary>
/// A folder of downloaded shards with a byte limit that holds over every process sharing it. Room is reserved under
/// a lock file (the least recently used shards not in use here are evicted first), a download goes to a
/// <c>.part</c> file named with its length (so other processes count the room it takes) and held with an exclusive
/// lock (so they wait for it instead of fetching it twice, and take it over if its process died), then it is
/// verified (its length; its MD5 too where the storage gives one and checksums are asked for) and renamed into place
/// atomically.
/// </summary>
internal sealed class ShardCache
{
    private const string ShardExtension = ".shard";
    private const string PartExtension = ".part";
    private readonly string _directory;
    private readonly long _limit;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, int> _pins = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PartFile> _filling = new(StringComparer.Ordinal);
    private long _downloadedBytes;

    private readonly bool _verifyChecksums;

    public ShardCache(string directory, long limit, TimeProvider time, bool verifyChecksums = true)
    {
        _verifyChecksums = verifyChecksums;
        _directory = Path.GetFullPath(directory);
        _limit = limit;
        _time = time;
        System.IO.Directory.CreateDirectory(_directory);
    }

    public string Directory => _directory;

    /// <summary>Gets the bytes this process downloaded.</summary>
    public long DownloadedBytes => Interlocked.Read(ref _downloadedBytes);

    /// <summary>Where the shard with this address is (or will be) cached.</summary>
    public string PathOf(string address, string name)
    {
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(address)))[..24];
        var tail = new string([.. Path.GetFileName(name).Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_')]);
        return Path.Combine(_directory, $"{hash}-{tail}{ShardExtension}");
    }

    /// <summary>The part file of a shard this process is downloading now, or null.</summary>
    public PartFile? Filling(string path)
    {
        lock (_filling)
        {
            return _filling.GetValueOrDefault(path);
        }
    }

    /// <summary>Keeps a cached file from eviction by this process while the returned lease lives.</summary>
    public IDisposable Pin(string path)
    {
        lock (_pins)
        {
            _pins[path] = _pins.GetValueOrDefault(path) + 1;
        }

        return new Unpin(this, path);
    }

    /// <summary>
    /// The local path of a shard, downloading it when it is not cached (or is damaged). <paramref name="download"/>
    /// fills the ranges of the part file it is given (each from <see cref="PartFile.Remaining"/>); it is called again,
    /// under the caller's retries, as needed.
    /// </summary>
    public async Task<string> GetAsync(StoredObject shard, string address, Func<PartFile, CancellationToken, Task> download, CancellationToken cancellationToken)
    {
        var path = PathOf(address, shard.Key);
        if (shard.Length > _limit)
        {
            throw new InvalidOperationException($"The shard {address} ({shard.Length:N0} bytes) is larger than the cache's limit of {_limit:N0} bytes (ShardSourceOptions.CacheBytes).");
        }

        while (true)
        {
            if (Hit(path, shard.Length))
            {
                return path;
            }

            var part = await ReserveAsync(path, shard.Length, address, cancellationToken).ConfigureAwait(false);
            if (part is null)
            {
                // Another process is downloading it: wait for its file, or for its part to be abandoned.
                await Task.Delay(TimeSpan.FromMilliseconds(20), _time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            await FillAsync(part, path, shard, address, download, cancellationToken).ConfigureAwait(false);
            return path;
        }
    }

    private bool Hit(string path, long length)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return false;
        }

        if (info.Length != length)
        {
            // A damaged or stale copy: drop it and fetch it again.
            TryDelete(path);
            return false;
        }

        try
        {
            // The last use, for LRU eviction (a file's write time, which every file system keeps).
            File.SetLastWriteTimeUtc(path, _time.GetUtcNow().UtcDateTime);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return File.Exists(path);
    }

    /// <summary>Makes room and creates the part file, held exclusively; null when another process holds it.</summary>
    private async Task<FileStream?> ReserveAsync(string path, long length, string address, CancellationToken cancellationToken)
    {
        var held = await CacheLock.TakeAsync(_directory, _time, cancellationToken).ConfigureAwait(false);
        await using var releasing = held.ConfigureAwait(false);
        if (File.Exists(path))
        {
            return null;
        }

        var partPath = path + "." + length.ToString(CultureInfo.InvariantCulture) + PartExtension;
        FileStream? part = null;
        try
        {
            part = new FileStream(partPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1 << 16, useAsync: true);
        }
        catch (IOException) when (File.Exists(partPath))
        {
            return null;
        }

        try
        {
            part.SetLength(0);
            var excess = Used(excludePart: partPath) + length - _limit;
            if (excess > 0)
            {
                excess -= Evict(excess);
            }

            if (excess > 0)
            {
                // Shards in use here or downloads of other processes fill the cache: wait for room.
                part.Dispose();
                TryDelete(partPath);
                throw new CacheFullException($"The shard cache {_directory} ({_limit:N0} bytes) has no room for {address} ({length:N0} bytes) beside the shards in use: raise ShardSourceOptions.CacheBytes above (prefetch + workers + 1) shards per process.");
            }

            return part;
        }
        catch
        {
            part.Dispose();
            throw;
        }
    }

    private async Task FillAsync(FileStream file, string path, StoredObject shard, string address, Func<PartFile, CancellationToken, Task> download, CancellationToken cancellationToken)
    {
        var partPath = file.Name;
        var hash = _verifyChecksums && shard.Md5 is not null;
        using var part = new PartFile(file, shard.Length, hash);
        lock (_filling)
        {
            _filling[path] = part;
        }

        try
        {
            await download(part, cancellationToken).ConfigureAwait(false);
            if (part.Length != shard.Length)
            {
                throw new InvalidDataException($"The shard {address} downloaded as {part.Length:N0} bytes; the storage lists {shard.Length:N0}.");
            }

            if (hash && part.Md5() is { } actual && actual != shard.Md5)
            {
                throw new InvalidDataException($"The shard {address} downloaded with MD5 {actual}; the storage lists {shard.Md5}.");
            }

            Interlocked.Add(ref _downloadedBytes, shard.Length);
            await using (await CacheLock.TakeAsync(_directory, _time, cancellationToken).ConfigureAwait(false))
            {
                // Closed before the rename, under the cache's lock (so no other process takes the part meanwhile): its
                // exclusive lock would otherwise stay on the renamed file and refuse readers until it is closed. Readers
                // of the part under way finish their read first; later ones read the renamed shard.
                part.Close();
                await file.DisposeAsync().ConfigureAwait(false);
                File.Move(partPath, path, overwrite: true);
                File.SetLastWriteTimeUtc(path, _time.GetUtcNow().UtcDateTime);
            }
        }
        finally
        {
            lock (_filling)
            {
                _filling.Remove(path);
            }

            part.Close();
            await file.DisposeAsync().ConfigureAwait(false);
            TryDelete(partPath);
        }
    }

    /// <summary>Bytes the cache holds or has promised: finished shards, and parts at their announced length.</summary>
    public long Used(string? excludePart = null)
    {
        long used = 0;
        foreach (var file in new DirectoryInfo(_directory).EnumerateFiles())
        {
            if (file.Name.EndsWith(ShardExtension, StringComparison.Ordinal))
            {
                used += file.Length;
            }
            else if (file.Name.EndsWith(PartExtension, StringComparison.Ordinal) && file.FullName != excludePart)
            {
                var name = file.Name[..^PartExtension.Length];
                used += long.TryParse(Path.GetExtension(name).TrimStart('.'), NumberStyles.None, CultureInfo.InvariantCulture, out var announced)
                    ? Math.Max(announced, file.Length)
                    : file.Length;
            }
        }

        return used;
    }

    /// <summary>Deletes least recently used shards not pinned here until <paramref name="bytes"/> are free; returns the bytes freed.</summary>
    private long Evict(long bytes)
    {
        long freed = 0;
        var candidates = new DirectoryInfo(_directory).EnumerateFiles("*" + ShardExtension).OrderBy(f => f.LastWriteTimeUtc).ToList();
        foreach (var file in candidates)
        {
            if (freed >= bytes)
            {
                break;
            }

            bool pinned;
            lock (_pins)
            {
                pinned = _pins.ContainsKey(file.FullName);
            }

            if (!pinned && TryDelete(file.FullName))
            {
                freed += file.Length;
            }
        }

        return freed;
    }

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private sealed class Unpin(ShardCache cache, string path) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                lock (cache._pins)
                {
                    if (--cache._pins[path] == 0)
                    {
                        cache._pins.Remove(path);
                    }
                }
            }
        }
    }
}
