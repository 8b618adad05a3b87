using StreamingLoader.Parquet;

namespace StreamingLoader.Shards.Tests;

/// <summary>Real loaders over real shards: a run saved by 4 ranks resumes on 2 or 8 with no sample of the epoch lost or repeated.</summary>
public sealed class ElasticResumeTests : IDisposable
{
    private readonly string _folder = TestData.WriteShards(shards: 6, rowsPerShard: 250, rowGroup: 50);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Theory]
    [InlineData(4, 2)]
    [InlineData(4, 8)]
    public async Task Loader_SavedAt4Ranks_ResumesAtAnotherWorldSizeExactly(int before, int after)
    {
        const ulong seed = 21;
        const int batch = 16;
        await using var source = await ShardSource.OpenAsync(_folder, new ShardSourceOptions { Suffix = ".parquet" });
        await using var dataset = await ParquetDataset.OpenAsync(source, new TensorColumns("x", "y"));
        var read = new List<long>();

        // Epoch 0 whole, then 7 batches of epoch 1 on every rank, then a checkpoint.
        ElasticState? saved = null;
        for (var rank = 0; rank < before; rank++)
        {
            var sampler = dataset.CreateSampler(new ShardingOptions { World = new World(rank, before), BatchSize = batch });
            await using var loader = Pipeline.From(dataset, sampler).Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2, Seed = seed });
            await foreach (var b in loader.ReadEpochAsync())
            {
                b.Dispose();
            }

            await foreach (var b in loader.ReadBatchesAsync(7))
            {
                using (b)
                {
                    TestData.AssertRows(b);
                    Assert.Equal(1, b.Epoch);
                    read.AddRange(b.Labels.AsSpan<long>().ToArray());
                }
            }

            var state = sampler.Checkpoint(loader.State);
            Assert.Equal(saved ?? state, state);
            saved = ElasticState.FromJson(state.ToJson());
        }

        Assert.Equal([new ElasticSegment(before, 7)], saved!.Segments);
        var padding = 0;
        for (var rank = 0; rank < after; rank++)
        {
            var sampler = dataset.CreateSampler(new ShardingOptions { World = new World(rank, after), BatchSize = batch }, saved);
            await using var loader = Pipeline.From(dataset, sampler).Build(Collate.Columns(dataset), new LoaderOptions { Workers = 2, Seed = seed }, sampler.StartState);
            await foreach (var b in loader.ReadEpochAsync())
            {
                using (b)
                {
                    TestData.AssertRows(b);
                    Assert.Equal(1, b.Epoch);
                    read.AddRange(b.Labels.AsSpan<long>().ToArray());
                }
            }

            padding = Math.Max(padding, after);
        }

        Assert.Equal(Enumerable.Range(0, 1500).Select(i => (long)i), read.Distinct().Order());
        // 1500 rows divide by 4 and by 2; after 8 ranks the rest may be padded by fewer than 8 repeats.
        Assert.InRange(read.Count - 1500, 0, after == 8 ? 7 : 0);
    }
}
