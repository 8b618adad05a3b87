namespace StreamingLoader.Shards.Internal;

/// <summary>The cache has no room for a shard beside the shards in use; transient when other processes will free room.</summary>
internal sealed class CacheFullException(string message) : IOException(message);
