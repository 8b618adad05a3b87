using StreamingLoader.Parquet;

namespace StreamingLoader.Shards.Tests;

/// <summary>The iterable mode: shards read once, in the epoch's shard order, split by shard across ranks.</summary>
public sealed class StreamTests : IDisposable
{
    private const int RowsPerShard = 300;
    private readonly string _folder = TestData.WriteShards(shards: 5, rowsPerShard: RowsPerShard, rowGroup: 64);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task Stream_TwoRanksTwoEpochs_UnionIsEveryRowOnceShardsWholeInOrderAndReshuffled()
    {
        var shardOrders = new List<List<long>>[2];
        var unions = new List<long>[] { [], [] };
        for (var rank = 0; rank < 2; rank++)
        {
            await using var source = await ShardSource.OpenAsync(_folder, new ShardSourceOptions { Suffix = ".parquet" });
            await using var dataset = await ParquetDataset.OpenAsync(source, new TensorColumns("x", "y"));
            var rows = dataset.Stream(seed: 11, new ShardingOptions { World = new World(rank, 2) });
            await using var loader = Pipeline.From(rows).Build(Collate.Columns(dataset), new LoaderOptions { BatchSize = 32, Workers = 2 });
            shardOrders[rank] = [];
            for (var epoch = 0; epoch < 2; epoch++)
            {
                var labels = new List<long>();
                await foreach (var batch in loader.ReadEpochAsync())
                {
                    using (batch)
                    {
                        TestData.AssertRows(batch, indexIsRow: false);
                        labels.AddRange(batch.Labels.AsSpan<long>().ToArray());
                    }
                }

                // Whole shards, each read in order, one after the other.
                var shards = labels.Select(l => l / RowsPerShard).Distinct().ToList();
                Assert.Equal(shards.SelectMany(s => Enumerable.Range((int)s * RowsPerShard, RowsPerShard).Select(i => (long)i)), labels);
                shardOrders[rank].Add(shards);
                unions[epoch].AddRange(labels);
            }

            // Each shard holds 5 row groups, decoded at most once an epoch (a row group per row would show here). The
            // loader reads the next epoch ahead, so its first row group and the one decoded ahead of it may be decoded too.
            Assert.InRange(dataset.RowGroupsDecoded, 5 * shardOrders[rank][0].Count, (5 * (shardOrders[rank][0].Count + shardOrders[rank][1].Count)) + 2);
        }

        Assert.All(unions, union => Assert.Equal(Enumerable.Range(0, 5 * RowsPerShard).Select(i => (long)i), union.Order()));
        Assert.Equal([3, 2], shardOrders.Select(o => o[0].Count));
        Assert.NotEqual(shardOrders[0][0].Concat(shardOrders[1][0]), shardOrders[0][1].Concat(shardOrders[1][1]));
    }
}
