using StreamingLoader.Batching;
using StreamingLoader.Datasets;
using StreamingLoader.Sources;
using StreamingLoader.Tests.Live;

namespace StreamingLoader.Tests;

/// <summary>The ways a user could resume wrongly or share state by accident, each refused or made harmless.</summary>
public sealed class UsageTrapsTests : IDisposable
{
    private readonly LiveFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task Resume_ShuffledStateIntoAnUnshuffledLoader_RefusedNamingBothOrders()
    {
        LoaderState state;
        await using (var shuffled = Pipeline.From(TestData.Tensor(100)).Build(new LoaderOptions { BatchSize = 10, Shuffle = true, Seed = 3 }))
        {
            await foreach (var batch in shuffled.ReadBatchesAsync(2))
            {
                batch.Dispose();
            }

            state = LoaderState.FromJson(shuffled.State.ToJson());
        }

        var error = Assert.Throws<ArgumentException>(() => Pipeline.From(TestData.Tensor(100)).Build(new LoaderOptions { BatchSize = 10, Seed = 3 }, state));
        Assert.Contains("orders its batches differently", error.Message, StringComparison.Ordinal);
        Assert.Contains("Saved: dataset, random of 100, 100 samples; batches of 10", error.Message, StringComparison.Ordinal);
        Assert.Contains("This loader: dataset, sequential of 100; batches of 10", error.Message, StringComparison.Ordinal);

        // Other samplers, a shuffle buffer and drop-last change the order too.
        Assert.Throws<ArgumentException>(() => Pipeline.From(TestData.Tensor(100), Sampler.Distributed(100, 0, 2)).Build(new LoaderOptions { BatchSize = 10, Seed = 3 }, state));
        Assert.Throws<ArgumentException>(() => Pipeline.From(TestData.Tensor(100)).Build(new LoaderOptions { BatchSize = 10, Shuffle = true, Seed = 3, ShuffleBufferSize = 8 }, state));

        // The same configuration resumes.
        await using var resumed = Pipeline.From(TestData.Tensor(100)).Build(new LoaderOptions { BatchSize = 10, Shuffle = true, Seed = 3 }, state);
        Assert.Equal(8, (await TestData.ReadEpochLabelsAsync(resumed)).Count / 10);
    }

    [Fact]
    public async Task Build_LoaderStateForATail_RefusedNamingTheTailsOwnPosition()
    {
        var path = _files.PathOf("events.jsonl");
        File.WriteAllText(path, "{\"x\":[1,2,3],\"y\":1}\n");
        var state = new LoaderState(0, 1, 0, -1, -1, BatchSize: 1);
        var error = Assert.Throws<ArgumentException>(() => Pipeline.From(new FileTail(path)).Build(Collate.Json("x", 3, "y"), new LoaderOptions { BatchSize = 1 }, state));
        Assert.Contains("keeps its own position", error.Message, StringComparison.Ordinal);
        Assert.Contains("TailPosition (FileTail.PositionAfter", error.Message, StringComparison.Ordinal);

        var folder = Directory.CreateDirectory(_files.PathOf("incoming")).FullName;
        error = Assert.Throws<ArgumentException>(() => Pipeline.From(new FolderWatch(folder)).Transform((f, _) => new Sample<float, long>(new float[1], 0)).Build(new LoaderOptions(), state));
        Assert.Contains("FolderWatchPosition", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PositionAfter_WhateverTheTransformsAndCollator_GivesTheLineAfterTheBatch()
    {
        // No tracking to set up: the position travels with the batch from the source, through a transform too.
        var path = _files.PathOf("events.jsonl");
        File.WriteAllLines(path, Enumerable.Range(0, 10).Select(i => $"{{\"x\":[{i},0,0],\"y\":{i}}}"));
        var tail = new FileTail(path, new TailOptions { IdleTimeout = TimeSpan.FromMilliseconds(300), PollInterval = TimeSpan.FromMilliseconds(10) });
        await using var loader = Pipeline.From(tail).Transform((line, _) => line).Build(Collate.Json("x", 3, "y"), new LoaderOptions { BatchSize = 4 });
        var positions = new List<TailPosition>();
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                positions.Add(tail.PositionAfter(batch));
            }
        }

        Assert.Equal([4L, 8L, 10L], positions.Select(p => p.LineNumber));
        Assert.Equal(new FileInfo(path).Length, positions[^1].Offset);
    }

    [Fact]
    public async Task PositionAfter_BatchesOutOfStreamOrder_ThrowsSayingWhy()
    {
        var path = _files.PathOf("events.jsonl");
        File.WriteAllLines(path, Enumerable.Range(0, 10).Select(i => $"{{\"x\":[{i},0,0],\"y\":{i}}}"));
        var tail = new FileTail(path, new TailOptions { IdleTimeout = TimeSpan.FromMilliseconds(300), PollInterval = TimeSpan.FromMilliseconds(10) });
        await using var loader = Pipeline.From(tail).Build(Collate.Json("x", 3, "y"), new LoaderOptions { BatchSize = 4, ShuffleBufferSize = 4 });
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                var error = Assert.Throws<InvalidOperationException>(() => tail.PositionAfter(batch));
                Assert.Contains("in stream order", error.Message, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void CounterRandom_HandedToTwoHelpers_TheyDrawOnFromOneCounter()
    {
        static double Draw(CounterRandom random) => random.NextDouble();
        var random = new SampleContext(7, 0, 3).Random();
        var first = Draw(random);
        var second = Draw(random);
        Assert.NotEqual(first, second);
        Assert.Equal(2UL, random.Counter);
    }

    [Fact]
    public async Task WorkersZero_NothingReadAheadOfTheConsumersRequest()
    {
        var read = 0;
        var dataset = Dataset.FromFunc(40, i =>
        {
            Interlocked.Increment(ref read);
            return new Sample<float, long>(new float[] { i }, i);
        });
        await using var loader = Pipeline.From(dataset).Build(new LoaderOptions { BatchSize = 4, Workers = 0 });
        var labels = new List<long>();
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                labels.AddRange(batch.Labels.AsSpan<long>().ToArray());

                // The batches in hand are all that was read, besides the first samples the layout was agreed from.
                Assert.Equal(Internal.LayoutAgreement.Samples + labels.Count, Volatile.Read(ref read));
            }
        }

        Assert.Equal(Enumerable.Range(0, 40).Select(i => (long)i), labels);
    }

    [Fact]
    public async Task WorkersZero_Stream_ReadsTheSourceOnlyAsTheConsumerAsks()
    {
        var yielded = 0;
        async IAsyncEnumerable<Sample<float, long>> Stream()
        {
            for (var i = 0; i < 20; i++)
            {
                await Task.Yield();
                Interlocked.Increment(ref yielded);
                yield return new Sample<float, long>(new float[] { i }, i);
            }
        }

        await using var loader = Pipeline.From(Stream()).Build(new LoaderOptions { BatchSize = 5, Workers = 0 });
        var batches = 0;
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                batches++;
                Assert.Equal(5 * batches, Volatile.Read(ref yielded));
            }
        }

        Assert.Equal(4, batches);
    }

    [Fact]
    public void WorkersZero_WithAShuffleBuffer_RefusedAtBuild()
    {
        var error = Assert.Throws<ArgumentException>(() => Pipeline.From(TestData.Tensor(10)).Build(new LoaderOptions { Workers = 0, ShuffleBufferSize = 4 }));
        Assert.Contains("Workers = 0 reads a batch only when the consumer asks for it", error.Message, StringComparison.Ordinal);
    }
}
