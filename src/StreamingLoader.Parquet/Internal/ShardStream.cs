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
    private long _enumerations;

    public async IAsyncEnumerator<ColumnarRow> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        var epoch = firstEpoch + Interlocked.Increment(ref _enumerations) - 1;
        var units = new List<int>();
        var shards = StreamShards.Of(dataset.Source.Shards.Count, seed, epoch, world, shuffle);
        if (!dataset.Source.IsLocal)
        {
            // Remote shards are downloaded ahead, in this order.
            dataset.Source.Plan(shards);
        }

        foreach (var shard in shards)
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
}
