using StreamingLoader.Shards.Internal;

namespace StreamingLoader.Shards.Storage;

/// <summary>Shards in a local folder, read where they lie.</summary>
internal sealed class LocalStorage(string root) : IShardStorage
{
    public bool IsLocal => true;

    public string Describe(string key) => LocalPath(key);

    public string LocalPath(string key) => Path.Combine(root, key);

    public Task<IReadOnlyList<StoredObject>> ListAsync(string suffix, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"The shard folder '{root}' does not exist.");
        }

        IReadOnlyList<StoredObject> found = [.. Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(suffix, StringComparison.Ordinal))
            .Select(f => new StoredObject(Path.GetRelativePath(root, f).Replace('\\', '/'), new FileInfo(f).Length))
            .OrderBy(o => o.Key, StringComparer.Ordinal)];
        return Task.FromResult(found);
    }

    public Task<StoredObject> StatAsync(string key, CancellationToken cancellationToken) =>
        Task.FromResult(new StoredObject(key, new FileInfo(LocalPath(key)).Length));

    public async Task<int> ReadRangeAsync(string key, long offset, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        using var handle = File.OpenHandle(LocalPath(key), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, FileOptions.Asynchronous);
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await RandomAccess.ReadAsync(handle, buffer[total..], offset + total, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    public Task<Stream> OpenReadAsync(string key, long offset, long end, CancellationToken cancellationToken)
    {
        var stream = new FileStream(LocalPath(key), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16, useAsync: true);
        stream.Position = offset;
        return Task.FromResult<Stream>(stream);
    }

    public void Dispose()
    {
    }
}
