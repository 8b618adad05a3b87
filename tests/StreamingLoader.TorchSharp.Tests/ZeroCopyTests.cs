using StreamingLoader.TorchSharp.Interop;
using TorchSharp;
using static TorchSharp.torch;
using StreamingLoader.Batching;

namespace StreamingLoader.TorchSharp.Tests;

public class ZeroCopyTests
{
    [Fact]
    public void AsTensors_Batch_SharesTheBatchMemoryWithShapeAndDtype()
    {
        using var pool = TestBatches.Pool(batchSize: 4, featureShape: [2, 3]);
        using var batch = TestBatches.Rent(pool, count: 3);

        var tensors = batch.AsTensors();
        Assert.Equal(["features", "labels"], tensors.Keys.Order());
        var (features, labels) = (tensors["features"], tensors["labels"]);
        using (features)
        using (labels)
        {
            Assert.Equal(batch.Features.Pointer, LibTorchSharp.THSTensor_data(features.Handle));
            Assert.Equal(batch.Labels.Pointer, LibTorchSharp.THSTensor_data(labels.Handle));
            Assert.Equal([3L, 2, 3], features.shape);
            Assert.Equal([3L], labels.shape);
            Assert.Equal(ScalarType.Float32, features.dtype);
            Assert.Equal(ScalarType.Int64, labels.dtype);
            Assert.Equal(batch.Features.AsSpan<float>()[7], features[1, 0, 1].item<float>());
            Assert.Equal(2L, labels[2].item<long>());

            // A write through the tensor is a write to the batch: the same memory, not a copy.
            features[2, 1, 2] = tensor(-5f);
            Assert.Equal(-5f, batch.Features.Sample<float>(2)[5]);
        }
    }

    [Fact]
    public void FeaturesAsTensor_BatchDisposedFirst_LeaseReturnsWhenLibTorchFreesTheStorage()
    {
        using var pool = TestBatches.Pool(batchSize: 4, featureShape: [5]);
        var batch = TestBatches.Rent(pool, count: 4);
        var features = batch.Features.AsTensor();
        var expected = batch.Features.AsSpan<float>().ToArray();

        batch.Dispose();

        // The consumer is done with the batch, libtorch is not: the buffer stays leased and the tensor reads it.
        Assert.Equal(1, pool.Outstanding);
        Assert.Equal(expected, features.data<float>().ToArray());

        features.Dispose();

        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void FeaturesAsTensor_AutogradKeepsTheInput_LeaseReturnsWhenTheGraphIsFreed()
    {
        using var pool = TestBatches.Pool(batchSize: 8, featureShape: [3]);
        var batch = TestBatches.Rent(pool, count: 8);
        using var linear = nn.Linear(3, 1);
        var x = batch.Features.AsTensor();
        var output = linear.call(x);

        // linear saved x for the weight's gradient: freeing our handle and the batch must not free the memory.
        x.Dispose();
        batch.Dispose();
        Assert.Equal(1, pool.Outstanding);

        output.sum().backward();
        Assert.NotNull(linear.weight!.grad);
        output.Dispose();
        GC.KeepAlive(linear);

        // The graph (and its saved input) died with the output: the deleter returned the lease.
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void AsTensors_WrappedTwice_EachTensorHoldsTheBufferUntilItIsFreed()
    {
        using var pool = TestBatches.Pool(batchSize: 2, featureShape: [1]);
        var batch = TestBatches.Rent(pool, count: 2);
        var first = batch.Features.AsTensor();
        var second = batch.Features.AsTensor();
        batch.Dispose();

        first.Dispose();
        Assert.Equal(1, pool.Outstanding);
        second.Dispose();
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void FeaturesAsTensor_DisposedBatch_Throws()
    {
        using var pool = TestBatches.Pool(batchSize: 2, featureShape: [1]);
        var batch = TestBatches.Rent(pool, count: 1);
        batch.Dispose();

        Assert.Throws<ObjectDisposedException>(() => batch.Features.AsTensor());
        Assert.Equal(0, pool.Outstanding);
    }

    [Fact]
    public void Retain_AfterDispose_KeepsTheBufferUntilReleasedOnce()
    {
        using var pool = TestBatches.Pool(batchSize: 2, featureShape: [1]);
        var batch = TestBatches.Rent(pool, count: 1);
        var hold = BatchLease.Retain(batch);

        batch.Dispose();
        Assert.Equal(1, pool.Outstanding);
        Assert.Throws<ObjectDisposedException>(() => batch.Features.Pointer);

        hold.Dispose();
        hold.Dispose();
        Assert.Equal(0, pool.Outstanding);
    }
}
