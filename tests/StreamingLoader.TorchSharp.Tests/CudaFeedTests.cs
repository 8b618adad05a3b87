using TorchSharp;
using static TorchSharp.torch;
using StreamingLoader.Datasets;
using StreamingLoader.Training;

namespace StreamingLoader.TorchSharp.Tests;

/// <summary>The CUDA feed on a real device: copies arrive intact, host buffers wait for their copies.</summary>
public class CudaFeedTests
{
    [CudaFact]
    public void Stage_HostBufferOverwrittenRightAfterDispose_DeviceSeesTheStagedValues()
    {
        using var pool = TestBatches.Pool(batchSize: 256, featureShape: [1, 28, 28]);
        using var feed = TorchFeed.Create(new Device(DeviceType.CUDA, 0));
        var staged = new List<(TorchBatch Batch, double Expected)>();
        for (var n = 0; n < 32; n++)
        {
            var batch = TestBatches.Rent(pool, count: 256);
            batch.Features.AsSpan<float>().Fill(n);
            staged.Add((feed.Stage(batch), 256.0 * 28 * 28 * n));
            batch.Dispose();

            // Whatever the pool hands out next gets overwritten at once: had the feed returned the buffer before its
            // copy completed, a device batch would hold these values instead of its own.
            if (pool.Outstanding < 3)
            {
                using var next = TestBatches.Rent(pool, count: 256);
                next.Features.AsSpan<float>().Fill(-1);
            }
        }

        foreach (var (batch, expected) in staged)
        {
            Assert.Equal(DeviceType.CUDA, batch.Features.device_type);
            Assert.Equal(expected, batch.Features.sum().to(ScalarType.Float64).item<double>(), 6);
            batch.Dispose();
        }

        feed.Dispose();
        Assert.Equal(0, pool.Outstanding);
    }

    [CudaFact]
    public async Task TrainEpochAsync_OnCuda_LearnsLikeOnTheCpu()
    {
        var features = new float[512 * 2];
        var labels = new long[512];
        for (var i = 0; i < 512; i++)
        {
            features[2 * i] = (i % 2 == 0 ? 1 : -1) * (1 + (i % 7));
            features[(2 * i) + 1] = i % 5;
            labels[i] = i % 2 == 0 ? 1 : 0;
        }

        await using var loader = Pipeline.From(new TensorDataset<float, long>(features, [2], labels)).Build(new LoaderOptions { BatchSize = 32, Shuffle = true, Workers = 2 });
        await using var feed = TorchFeed.Create(new Device(DeviceType.CUDA, 0));
        manual_seed(0);
        using var model = nn.Linear(2, 2);
        model.to(feed.Device);
        using var criterion = nn.CrossEntropyLoss();
        using var optimizer = optim.SGD(model.parameters(), learningRate: 0.1);

        EpochResult result = null!;
        for (var epoch = 0; epoch < 5; epoch++)
        {
            result = await loader.TrainEpochAsync(model, criterion, optimizer, feed);
        }

        Assert.Equal(512, result.Samples);
        Assert.True(result.Accuracy > 0.95, $"accuracy {result.Accuracy}");
    }
}
