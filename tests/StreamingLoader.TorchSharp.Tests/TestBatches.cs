using StreamingLoader.Batching;
using StreamingLoader.Internal;

namespace StreamingLoader.TorchSharp.Tests;

/// <summary>Batches from a real pool, filled with known values: feature i of the batch is i, label j is j.</summary>
internal static class TestBatches
{
    public static BatchPool Pool(int batchSize, int[] featureShape)
    {
        var pool = new BatchPool(capacity: 4, batchSize);
        pool.EnsureLayout(new BatchLayout(ElementType.Float32, featureShape, ElementType.Int64, []));
        return pool;
    }

    public static Batch Rent(BatchPool pool, int count)
    {
        var batch = pool.Rent(CancellationToken.None);
        batch.Reset(epoch: 0, count);
        var features = batch.Features.AsSpan<float>();
        for (var i = 0; i < features.Length; i++)
        {
            features[i] = i;
        }

        var labels = batch.Labels.AsSpan<long>();
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i] = i;
        }

        return batch;
    }
}
