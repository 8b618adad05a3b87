using BenchmarkDotNet.Attributes;
using StreamingLoader.Datasets;
using StreamingLoader.Internal;

namespace StreamingLoader.Benchmarks;

/// <summary>
/// tf.data's shuffle buffer (10 000 samples) re-chunking a stream into batches of 256. One invocation is a whole
/// epoch of 100 000 samples in chunks of 256, drained at its end; Mean, Allocated and Op/s are per item.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
public class ShuffleBufferBenchmarks
{
    private const int BufferSize = 10_000;
    private const int BatchSize = 256;
    private const int ItemsPerEpoch = 100_000;
    private const int FeatureCount = 64;

    private ShuffleBuffer<Sample<float, long>> _buffer = null!;
    private Sample<float, long>[] _samples = [];
    private long _epoch;

    [GlobalSetup]
    public void Setup()
    {
        var features = new float[ItemsPerEpoch * FeatureCount];
        var labels = new long[ItemsPerEpoch];
        var dataset = new TensorDataset<float, long>(features, [FeatureCount], labels);
        var indices = Sampler.Sequential(ItemsPerEpoch).GetIndices(0, 0);
        _samples = new Sample<float, long>[ItemsPerEpoch];
        dataset.GetItems(indices, _samples);
        _buffer = new ShuffleBuffer<Sample<float, long>>(BufferSize, BatchSize, seed: 42, new LoaderState(0, 0, 0, -1, -1), new SampleAccounting());
    }

    [Benchmark(OperationsPerInvoke = ItemsPerEpoch, Description = "Process, per item (buffer 10 000, batch 256)")]
    public int Process()
    {
        var epoch = _epoch++;
        var emitted = 0;
        var chunks = 0;
        for (var start = 0; start < ItemsPerEpoch; start += BatchSize)
        {
            var count = Math.Min(BatchSize, ItemsPerEpoch - start);
            var chunk = Chunk<Sample<float, long>>.Rent(count, epoch);
            _samples.AsSpan(start, count).CopyTo(chunk.Items);
            for (var i = 0; i < count; i++)
            {
                chunk.Indices[i] = start + i;
            }

            chunk.Count = count;
            chunks++;
            emitted += Drain(_buffer.Process(chunk));
        }

        emitted += Drain(_buffer.Process(Chunk<Sample<float, long>>.EpochEnd(epoch, chunks)));
        return emitted;
    }

    private static int Drain(List<Chunk<Sample<float, long>>> output)
    {
        var items = 0;
        foreach (var chunk in output)
        {
            if (!chunk.IsMarker)
            {
                items += chunk.Count;
            }

            chunk.Return();
        }

        return items;
    }
}
