namespace StreamingLoader.Shards.Internal;

/// <summary>
/// The shards a rank reads in one epoch of an iterable (streaming) dataset: the shard order shuffled from (seed,
/// epoch) alone, then dealt round robin, shard k of that order to rank k mod world size. Parquet and tar streams
/// share it, so the same seed gives the same shard order whatever the format.
/// </summary>
internal static class StreamShards
{
    private const ulong StreamShardOrder = 0x5348_4152_4453_5452; // "SHARDSTR"

    /// <summary>This rank's shards in the epoch's order.</summary>
    public static List<int> Of(int shards, ulong seed, long epoch, World world, bool shuffle)
    {
        var order = Enumerable.Range(0, shards).ToArray();
        if (shuffle)
        {
            EpochOrder.Shuffle(order, new CounterRandom(seed, epoch, 0, StreamShardOrder));
        }

        var mine = new List<int>();
        for (var p = world.Rank; p < order.Length; p += world.WorldSize)
        {
            mine.Add(order[p]);
        }

        return mine;
    }
}
