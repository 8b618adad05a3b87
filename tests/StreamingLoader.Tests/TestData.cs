using StreamingLoader.Batching;
using StreamingLoader.Datasets;

namespace StreamingLoader.Tests;

/// <summary>Small datasets whose samples say where they came from: feature j of sample i is i * 1000 + j.</summary>
internal static class TestData
{
    public static TensorDataset<float, long> Tensor(int count, int features = 4)
    {
        var x = new float[count * features];
        var y = new long[count];
        for (var i = 0; i < count; i++)
        {
            y[i] = i;
            for (var j = 0; j < features; j++)
            {
                x[(i * features) + j] = (i * 1000) + j;
            }
        }

        return new TensorDataset<float, long>(x, [features], y);
    }

    /// <summary>Reads every batch of one epoch, returning the labels in order and disposing each batch.</summary>
    public static async Task<List<long>> ReadEpochLabelsAsync(DataLoader loader, CancellationToken cancellationToken = default)
    {
        var labels = new List<long>();
        await foreach (var batch in loader.ReadEpochAsync(cancellationToken))
        {
            using (batch)
            {
                labels.AddRange(batch.Labels.AsSpan<long>().ToArray());
            }
        }

        return labels;
    }

    /// <summary>Reads <paramref name="epochs"/> epochs back to back (one <see cref="DataLoader.ReadEpochAsync"/> after another).</summary>
    public static async IAsyncEnumerable<Batch> ReadEpochsAsync(this DataLoader loader, int epochs, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            await foreach (var batch in loader.ReadEpochAsync(cancellationToken))
            {
                yield return batch;
            }
        }
    }

    /// <summary>How many batches wait in the loader's prefetch queue now.</summary>
    public static int PrefetchDepth(this DataLoader loader) =>
        ((Internal.IMetricsSource)loader).QueueDepths().Single(q => q.Stage == PipelineStage.Prefetch).Depth;
}
