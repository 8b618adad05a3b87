using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using StreamingLoader.TorchSharp;
using TorchSharp;
using static TorchSharp.torch;
using StreamingLoader.Batching;
using StreamingLoader.Internal;

namespace StreamingLoader.Benchmarks;

/// <summary>
/// A Fashion-MNIST-sized batch (256 × [1, 28, 28] Float32 + 256 Int64 labels) handed to TorchSharp: wrapped in place
/// (<see cref="BatchTensorExtensions.AsTensors"/>: both tensors created and freed, the deleter returning the lease)
/// versus TorchSharp's public copying factory (<c>torch.tensor(float[], shape)</c> over the batch's elements). The goal
/// for the wrap is under 5 µs. In process: TorchSharp-cpu's 1 GB of native libraries make a per-run child build slow.
/// </summary>
[InProcess]
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
[SuppressMessage("Reliability", "CA1001", Justification = "BenchmarkDotNet calls [GlobalCleanup], which disposes the pool.")]
public class TorchWrapBenchmarks
{
    private const int BatchSize = 256;
    private BatchPool _pool = null!;
    private Batch _batch = null!;
    private float[] _scratch = [];

    [GlobalSetup]
    public void Setup()
    {
        _pool = new BatchPool(capacity: 2, BatchSize);
        _pool.EnsureLayout(new BatchLayout(ElementType.Float32, [1, 28, 28], ElementType.Int64, []));
        _batch = _pool.Rent(CancellationToken.None);
        _batch.Reset(epoch: 0, BatchSize);
        var features = _batch.Features.AsSpan<float>();
        for (var i = 0; i < features.Length; i++)
        {
            features[i] = i % 255 / 255f;
        }

        _scratch = new float[features.Length];
        using var warm = _batch.Features.AsTensor();
    }

    [Benchmark(Baseline = true, Description = "wrap features + labels (zero copy), free both")]
    public long Wrap()
    {
        var tensors = _batch.AsTensors();
        var elements = tensors["features"].numel() + tensors["labels"].numel();
        foreach (var tensor in tensors.Values)
        {
            tensor.Dispose();
        }

        return elements;
    }

    [Benchmark(Description = "torch.tensor(float[]) copy of the features, free it")]
    public long Copy()
    {
        _batch.Features.AsSpan<float>().CopyTo(_scratch);
        using var features = tensor(_scratch, [BatchSize, 1, 28, 28]);
        return features.numel();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _batch.Dispose();
        _pool.Dispose();
    }
}
