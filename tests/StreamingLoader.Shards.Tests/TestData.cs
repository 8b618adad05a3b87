using StreamingLoader.Parquet;
using StreamingLoader.Batching;

namespace StreamingLoader.Shards.Tests;

/// <summary>Parquet shards whose rows say who they are: row i has label i and features i·1000 + j, so a batch proves its rows.</summary>
internal static class TestData
{
    public const int Features = 8;

    /// <summary>Writes <paramref name="shards"/> shards of <paramref name="rowsPerShard"/> rows in row groups of <paramref name="rowGroup"/>; returns the folder.</summary>
    public static string WriteShards(int shards, int rowsPerShard, int rowGroup, string? folder = null)
    {
        folder ??= Directory.CreateTempSubdirectory("streamingloader-shards-").FullName;
        for (var s = 0; s < shards; s++)
        {
            var first = s * rowsPerShard;
            var x = new float[rowsPerShard * Features];
            var y = new long[rowsPerShard];
            for (var r = 0; r < rowsPerShard; r++)
            {
                y[r] = first + r;
                for (var j = 0; j < Features; j++)
                {
                    x[(r * Features) + j] = ((first + r) * 1000f) + j;
                }
            }

            ParquetShardWriter.Write(Path.Combine(folder, $"part-{s:D3}.parquet"), x, Features, y, rowGroup);
        }

        return folder;
    }

    /// <summary>
    /// Checks that every row of a batch holds the features its label says and, for a map-style dataset, that the
    /// sample index is the row (a stream's sample indices count the rows as they come).
    /// </summary>
    public static void AssertRows(Batch batch, bool indexIsRow = true)
    {
        var labels = batch.Labels.AsSpan<long>();
        var features = batch.Features.AsSpan<float>();
        for (var i = 0; i < batch.Count; i++)
        {
            for (var j = 0; j < Features; j++)
            {
                Assert.Equal((labels[i] * 1000f) + j, features[(i * Features) + j]);
            }

            if (indexIsRow)
            {
                Assert.Equal(batch.SampleIndices[i], labels[i]);
            }
        }
    }
}
