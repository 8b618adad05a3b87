namespace StreamingLoader.Shards.Internal;

/// <summary>One object in a storage: its key and its length in bytes, and a checksum when the storage gives one.</summary>
internal sealed record StoredObject(string Key, long Length, string? Md5 = null);

/// <summary>Where shards lie: a local folder, an HTTP server or an S3 bucket.</summary>
internal interface IShardStorage : IDisposable
{
    /// <summary>The shard's full address, for messages.</summary>
    string Describe(string key);

    /// <summary>Whether shards are read where they lie (a local file) rather than fetched into the cache.</summary>
    bool IsLocal { get; }

    /// <summary>The local path of a shard of a local storage.</summary>
    string LocalPath(string key);

    /// <summary>The objects whose keys end with <paramref name="suffix"/>, sorted by key.</summary>
    Task<IReadOnlyList<StoredObject>> ListAsync(string suffix, CancellationToken cancellationToken);

    /// <summary>Length (and checksum) of one object.</summary>
    Task<StoredObject> StatAsync(string key, CancellationToken cancellationToken);

    /// <summary>Reads <c>buffer.Length</c> bytes from <paramref name="offset"/>; fewer only at the object's end.</summary>
    Task<int> ReadRangeAsync(string key, long offset, Memory<byte> buffer, CancellationToken cancellationToken);

    /// <summary>
    /// Opens the bytes [<paramref name="offset"/>, <paramref name="end"/>) of the object for reading (a range of a
    /// download, or its resumption). The stream may go on past <paramref name="end"/>; the reader stops there.
    /// </summary>
    Task<Stream> OpenReadAsync(string key, long offset, long end, CancellationToken cancellationToken);
}
