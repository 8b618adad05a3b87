namespace StreamingLoader.Shards;

/// <summary>One shard of a <see cref="ShardSource"/>.</summary>
/// <param name="Name">Its name below the source's location (the key after the prefix).</param>
/// <param name="Address">Its full address, as errors name it.</param>
/// <param name="Length">Its length in bytes.</param>
public sealed record ShardInfo(string Name, string Address, long Length);
