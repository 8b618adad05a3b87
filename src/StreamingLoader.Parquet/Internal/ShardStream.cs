using System.Runtime.CompilerServices;
using StreamingLoader.Shards;
using StreamingLoader.Shards.Internal;

namespace StreamingLoader.Parquet.Internal;

/// <summary>
/// A columnar dataset read once as a stream: each enumeration is an epoch whose shard order is shuffled from (seed,
/// epoch); rank r of W reads the shards at positions r, r + W, ... of that order, each unit by unit and row by row,
/// the next unit decoded on a background task while the rows of the current one are read.
/// </summary>
internal sealed class ShardStream(ColumnarDataset dataset, ulong seed, World world, bool shuffle, long firstEpoch) : IAsyncEnumerable<ColumnarRow>
{
    private const ulong StreamShards = 0x5348_4152_4453_5452; // "SHARDSTR"
    private long _enumerations;

    public async IAsyncEnumerator<ColumnarRow> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        var epoch = firstEpoch + Interlocked.Increment(ref _enumerations) - 1;
        var units = new List<int>();
        foreach (var shard in ShardsOf(dataset.Source.Shards.Count, seed, epoch, world, shuffle))
        {
            units.AddRange(dataset.UnitsOf(shard));
        }

        Task ahead = Task.CompletedTask;
        try
        {
            for (var u = 0; u < units.Count; u++)
            {
                await ahead.ConfigureAwait(false);
                var unit = units[u];
                if (u + 1 < units.Count)
                {
                    var next = units[u + 1];
                    ahead = Task.Run(() => dataset.WarmUnit(next), CancellationToken.None);
                }

                var decoded = dataset.AcquireUnit(unit);
                try
                {
                    var first = dataset.FirstRow(unit);
                    for (var row = 0; row < decoded.Rows; row++)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        yield return RowCopy.Copy(dataset.Schema, decoded, row, first + row);
                    }
                }
                finally
                {
                    dataset.ReleaseUnit(unit);
                }
            }
        }
        finally
        {
            await ahead.ConfigureAwait(false);
        }
    }

    /// <summary>This rank's shards in the epoch's order.</summary>
    internal static List<int> ShardsOf(int shards, ulong seed, long epoch, World world, bool shuffle)
    {
        var order = Enumerable.Range(0, shards).ToArray();
        if (shuffle)
        {
            EpochOrder.Shuffle(order, new StreamingLoader.CounterRandom(seed, epoch, 0, StreamShards));
        }

        var mine = new List<int>();
        for (var p = world.Rank; p < order.Length; p += world.WorldSize)
        {
            mine.Add(order[p]);
        }

        return mine;
    }
}
