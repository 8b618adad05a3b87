using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;
using StreamingLoader.Sources;
using StreamingLoader.Batching;
using StreamingLoader.Internal;
using StreamingLoader.Training;

namespace StreamingLoader.TorchSharp.Tests;

/// <summary>
/// <see cref="TorchEpochs.TrainEpochAsync(DataLoader, nn.Module{Tensor, Tensor}, nn.Module{Tensor, Tensor, Tensor}, optim.Optimizer, Action{Batch}, TorchFeed?, CancellationToken)"/>'s
/// call after each step: the loader's batch, still leased, once its step has run, on the training thread; a live
/// tail trained with a checkpoint after every batch resumes with the first line the checkpoint had not trained.
/// </summary>
public class AfterStepTests
{
    [Fact]
    public async Task TrainEpochAsync_AfterStep_GetsEachLeasedBatchOnceItsStepRan()
    {
        await using var loader = TorchEpochsTests.RegressionLoader(seed: 31);
        using var inner = TorchEpochsTests.Model();
        using var model = new ProbeModel(inner);
        using var criterion = nn.MSELoss();
        using var optimizer = optim.SGD(inner.parameters(), learningRate: 0.1);
        var calls = new List<(int Index, int Forwards, int Thread, int Count)>();

        var result = await loader.TrainEpochAsync(
            model,
            criterion,
            optimizer,
            batch => calls.Add((batch.Index, model.Calls, Environment.CurrentManagedThreadId, batch.Labels.AsSpan<float>().Length)));

        Assert.Equal(16, result.Batches);
        Assert.Equal(Enumerable.Range(0, 16), calls.Select(c => c.Index));
        Assert.Equal(Enumerable.Range(1, 16), calls.Select(c => c.Forwards));        // after its step, before the next
        Assert.Equal(model.CallThreads, calls.Select(c => c.Thread));                // on the training thread
        Assert.All(calls, c => Assert.Equal(32, c.Count));                            // still leased: its memory readable
    }

    [Fact]
    public async Task TrainEpochAsync_AfterStepThrows_PassEndsWithItAndEveryBatchGoesBack()
    {
        await using var loader = TorchEpochsTests.RegressionLoader(seed: 32);
        using var model = TorchEpochsTests.Model();
        using var criterion = nn.MSELoss();
        using var optimizer = optim.SGD(model.parameters(), learningRate: 0.1);
        var calls = 0;

        var error = await Assert.ThrowsAsync<IOException>(() => loader.TrainEpochAsync(model, criterion, optimizer, _ =>
        {
            if (++calls == 4)
            {
                throw new IOException("checkpoint disk full");
            }
        }));

        Assert.Equal("checkpoint disk full", error.Message);
        Assert.Equal(4, calls);
        Assert.Equal(16, (await loader.TrainEpochAsync(model, criterion, optimizer)).Batches);
        await loader.DisposeAsync();
        Assert.Equal(0, ((IMetricsSource)loader).PoolLeases);
    }

    [Fact]
    public async Task TrainEpochAsync_TailWithACheckpointAfterEachBatch_ResumesWithTheFirstUntrainedLine()
    {
        const int Lines = 400;
        var folder = Directory.CreateTempSubdirectory("sl-aftertail-");
        try
        {
            // x0 is the line's id, so the lines each step trained on can be told apart.
            var path = Path.Combine(folder.FullName, "events.jsonl");
            await File.WriteAllLinesAsync(path, Enumerable.Range(0, Lines).Select(id => string.Create(CultureInfo.InvariantCulture, $"{{\"x\":[{id},{id % 7},{id % 3}],\"y\":{id % 2}}}")));
            using var model = nn.Linear(3, 2);
            using var criterion = nn.CrossEntropyLoss();
            using var optimizer = optim.SGD(model.parameters(), learningRate: 1e-4);
            var trained = new List<int>();

            // The first run stops after five batches, as a process that is killed would: its checkpoint is the last one saved.
            TailPosition? checkpoint = null;
            using (var stop = new CancellationTokenSource())
            {
                var batches = 0;
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => TrainAsync(path, resumeFrom: null, TimeSpan.FromSeconds(30), model, criterion, optimizer, trained, saved =>
                {
                    checkpoint = saved;
                    if (++batches == 5)
                    {
                        stop.Cancel();
                    }
                }, stop.Token));
            }

            Assert.Equal(5 * 32, trained.Count);
            Assert.NotNull(checkpoint);

            // The second run goes on from the checkpoint to the end of the file (then the tail idles out).
            var result = await TrainAsync(path, checkpoint, TimeSpan.FromMilliseconds(300), model, criterion, optimizer, trained, _ => { }, CancellationToken.None);

            Assert.Equal(Lines - (5 * 32), result.Samples);
            Assert.Equal(Enumerable.Range(0, Lines), trained);   // every line once, in order: none repeated, none skipped
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>The loop of the TorchSharp README's tail example: a checkpoint after every batch.</summary>
    private static async Task<EpochResult> TrainAsync(
        string path, TailPosition? resumeFrom, TimeSpan idle, nn.Module<Tensor, Tensor> model, nn.Module<Tensor, Tensor, Tensor> criterion, optim.Optimizer optimizer, List<int> trained, Action<TailPosition?> save, CancellationToken cancellationToken)
    {
        var tail = new FileTail(path, new TailOptions { IdleTimeout = idle, PollInterval = TimeSpan.FromMilliseconds(20) }, resumeFrom);
        await using var loader = Pipeline.From(tail).Build(Collate.Json("x", 3, "y"), new LoaderOptions { BatchSize = 32 });
        return await loader.TrainEpochAsync(
            model,
            criterion,
            optimizer,
            batch =>
            {
                var features = batch.Features.AsSpan<float>();
                for (var i = 0; i < batch.Count; i++)
                {
                    trained.Add((int)features[i * 3]);
                }

                save(tail.PositionAfter(batch));
            },
            cancellationToken: cancellationToken);
    }
}
