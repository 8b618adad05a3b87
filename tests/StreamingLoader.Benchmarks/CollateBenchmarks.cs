using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using StreamingLoader.Batching;
using StreamingLoader.Datasets;
using StreamingLoader.Internal;

namespace StreamingLoader.Benchmarks;

/// <summary>
/// The steady-state collate path of one batch, as <c>DataflowLoader.Collate</c> runs it: rent a pooled batch, reset
/// it, prefetch ahead and write every sample into its slot with the default collator, record the sample indices,
/// dispose the batch (back to the pool). One operation is one batch of 256 samples; the goal is 0 B allocated.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
[SuppressMessage("Reliability", "CA1001", Justification = "BenchmarkDotNet calls [GlobalCleanup], which disposes the pools and the listener.")]
public class CollateBenchmarks
{
    private const int BatchSize = 256;
    private const int PrefetchDistance = 4; // as DataflowLoader.Collate
    private const int FeatureCount = 64;
    private const int TensorSamples = 200_000; // 51 MB of features: larger than the caches, as a real dataset
    private const int ImageSamples = 60_000; // Fashion-MNIST's training set: 47 MB of 28×28 bytes
    private const ulong Seed = 42;

    private readonly Collator<Sample<float, long>> _tensorCollator = Collate.Tensors<float, long>();
    private readonly Collator<Sample<byte, long>> _imageCollator = Collate.BytesToFloat<long>(mean: 0.2860f, std: 0.3530f);
    private BatchPool _tensorPool = null!;
    private BatchPool _imagePool = null!;
    private Sample<float, long>[] _sequentialTensors = [];
    private int[] _sequentialTensorIndices = [];
    private Sample<float, long>[] _shuffledTensors = [];
    private int[] _shuffledTensorIndices = [];
    private Sample<byte, long>[] _sequentialImages = [];
    private int[] _sequentialImageIndices = [];
    private Sample<byte, long>[] _shuffledImages = [];
    private int[] _shuffledImageIndices = [];
    private int _sequentialTensorCursor;
    private int _shuffledTensorCursor;
    private int _sequentialImageCursor;
    private int _shuffledImageCursor;
    private int _meteredCursor;
    private MeterListener? _listener;
    private long _measurements;

    [GlobalSetup]
    public void Setup()
    {
        var random = new CounterRandom(Seed, 0, 0);
        var features = new float[TensorSamples * FeatureCount];
        for (var i = 0; i < features.Length; i++)
        {
            features[i] = random.NextSingle();
        }

        var labels = new long[TensorSamples];
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i] = random.NextInt32(10);
        }

        var tensors = new TensorDataset<float, long>(features, [FeatureCount], labels);
        (_sequentialTensors, _sequentialTensorIndices) = Read(tensors, Sampler.Sequential(TensorSamples));
        (_shuffledTensors, _shuffledTensorIndices) = Read(tensors, Sampler.Random(TensorSamples));

        var pixels = new byte[ImageSamples * 784];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (byte)random.NextInt32(256);
        }

        var imageLabels = new long[ImageSamples];
        for (var i = 0; i < imageLabels.Length; i++)
        {
            imageLabels[i] = random.NextInt32(10);
        }

        var images = new TensorDataset<byte, long>(pixels, [1, 28, 28], imageLabels);
        (_sequentialImages, _sequentialImageIndices) = Read(images, Sampler.Sequential(ImageSamples));
        (_shuffledImages, _shuffledImageIndices) = Read(images, Sampler.Random(ImageSamples));

        // Two buffers, as a pool with one in flight and one free; the first rent allocates them, outside the measurement.
        _tensorPool = CreatePool(_tensorCollator, _sequentialTensors[0]);
        _imagePool = CreatePool(_imageCollator, _sequentialImages[0]);
    }

    /// <summary>As <see cref="Setup"/>, with a listener on the library's meter, as OpenTelemetry would be.</summary>
    [GlobalSetup(Target = nameof(Tensors_Sequential_StageMetrics))]
    public void SetupWithListener()
    {
        Setup();
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "StreamingLoader")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((_, _, _, _) => _measurements++);
        _listener.SetMeasurementEventCallback<double>((_, _, _, _) => _measurements++);
        _listener.SetMeasurementEventCallback<int>((_, _, _, _) => _measurements++);
        _listener.Start();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _listener?.Dispose();
        _tensorPool.Dispose();
        _imagePool.Dispose();
    }

    [Benchmark(Baseline = true, Description = "Tensors<float,long> 256×64, sequential")]
    public int Tensors_Sequential() => CollateBatch(_tensorPool, _tensorCollator, _sequentialTensors, _sequentialTensorIndices, ref _sequentialTensorCursor);

    [Benchmark(Description = "Tensors<float,long> 256×64, shuffled")]
    public int Tensors_Shuffled() => CollateBatch(_tensorPool, _tensorCollator, _shuffledTensors, _shuffledTensorIndices, ref _shuffledTensorCursor);

    [Benchmark(Description = "BytesToFloat<long> 256×784, sequential")]
    public int BytesToFloat_Sequential() => CollateBatch(_imagePool, _imageCollator, _sequentialImages, _sequentialImageIndices, ref _sequentialImageCursor);

    [Benchmark(Description = "BytesToFloat<long> 256×784, shuffled")]
    public int BytesToFloat_Shuffled() => CollateBatch(_imagePool, _imageCollator, _shuffledImages, _shuffledImageIndices, ref _shuffledImageCursor);

    /// <summary>The sequential case plus the stage timer the loader wraps around it (items in/out, duration), listened to.</summary>
    [Benchmark(Description = "Tensors<float,long> 256×64, sequential + stage metrics")]
    public int Tensors_Sequential_StageMetrics()
    {
        var timer = StageTimer.Start("bench", PipelineStage.Collate, _stageCounters, BatchSize);
        var count = CollateBatch(_tensorPool, _tensorCollator, _sequentialTensors, _sequentialTensorIndices, ref _meteredCursor);
        timer.Stop(count);
        return count;
    }

    private readonly StageCounters _stageCounters = new();

    private static int CollateBatch<TSample>(BatchPool pool, Collator<TSample> collator, TSample[] samples, int[] indices, ref int cursor)
    {
        var start = cursor;
        var batch = pool.Rent(CancellationToken.None);
        batch.Reset(0, BatchSize);
        var slots = batch.IndexBuffer;
        for (var i = 0; i < BatchSize; i++)
        {
            if (i + PrefetchDistance < BatchSize)
            {
                collator.Prefetch(in samples[start + i + PrefetchDistance]);
            }

            collator.Write(in samples[start + i], i, batch);
            slots[i] = indices[start + i];
        }

        var count = batch.Count;
        batch.Dispose();
        cursor = start + (2 * BatchSize) > samples.Length ? 0 : start + BatchSize;
        return count;
    }

    private static (Sample<TFeature, long>[] Samples, int[] Indices) Read<TFeature>(TensorDataset<TFeature, long> dataset, Sampler sampler)
        where TFeature : unmanaged
    {
        var indices = sampler.GetIndices(Seed, 0);
        var samples = new Sample<TFeature, long>[indices.Length];
        dataset.GetItems(indices, samples);
        return (samples, indices);
    }

    private static BatchPool CreatePool<TSample>(Collator<TSample> collator, TSample first)
    {
        var pool = new BatchPool(2, BatchSize);
        pool.EnsureLayout(collator.GetLayout(first));
        var a = pool.Rent(CancellationToken.None);
        var b = pool.Rent(CancellationToken.None);
        a.Dispose();
        b.Dispose();
        return pool;
    }
}
