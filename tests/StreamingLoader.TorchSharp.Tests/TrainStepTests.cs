using TorchSharp;
using static TorchSharp.torch;
using StreamingLoader.Internal;

namespace StreamingLoader.TorchSharp.Tests;

/// <summary>
/// The per-batch step for loops of your own: it runs on the thread that calls it, as the same step written by hand
/// would (a hand-off to the training thread per step made it 11 to 92 times slower on the shared machine), and trains a
/// loader's batch on the CPU without a <see cref="TorchFeed"/>.
/// </summary>
public class TrainStepTests
{
    [Fact]
    public async Task TrainStep_CalledFromAHandler_RunsOnTheCallersThreadWithItsOneIntraOpThread()
    {
        await using var loader = TorchEpochsTests.RegressionLoader(seed: 21);
        using var inner = TorchEpochsTests.Model();
        using var model = new ProbeModel(inner);
        using var criterion = nn.MSELoss();
        using var optimizer = optim.SGD(inner.parameters(), learningRate: 0.1);
        await using var feed = TorchFeed.Create(CPU);
        var callers = new List<int>();

        await loader.ForEachAsync(
            (batch, _) =>
            {
                callers.Add(Environment.CurrentManagedThreadId);
                using var staged = feed.Stage(batch);
                using var loss = TorchEpochs.TrainStep(staged, model, criterion, optimizer);
                return ValueTask.CompletedTask;
            },
            epochs: 2);

        // Each forward ran on the thread that called TrainStep: no hand-off, no wake-up of another thread per step.
        Assert.Equal(32, callers.Count);
        Assert.Equal(callers, model.CallThreads);
        Assert.Equal([1], model.IntraOpThreads);
    }

    [Fact]
    public async Task TrainStep_LoaderBatchWithoutAFeed_LearnsTheLinearMapOnTheCallersThread()
    {
        await using var loader = TorchEpochsTests.RegressionLoader(seed: 22);
        using var inner = TorchEpochsTests.Model();
        using var model = new ProbeModel(inner);
        using var criterion = nn.MSELoss();
        using var optimizer = optim.SGD(inner.parameters(), learningRate: 0.1);
        var callers = new List<int>();
        var losses = new List<float>();

        await loader.ForEachAsync(
            (batch, _) =>
            {
                callers.Add(Environment.CurrentManagedThreadId);
                using var loss = TorchEpochs.TrainStep(batch, model, criterion, optimizer);
                losses.Add(loss.item<float>());
                return ValueTask.CompletedTask;
            },
            epochs: 8);

        Assert.Equal(callers, model.CallThreads);
        Assert.True(losses[^1] < losses[0] / 100, $"loss {losses[0]} → {losses[^1]}");
        TorchEpochsTests.AssertLearned(inner);

        // The wrapped batch memory went back to the pool with each step: nothing is held once the loader is disposed.
        await loader.DisposeAsync();
        Assert.Equal(0, ((IMetricsSource)loader).PoolLeases);
    }

    [Fact]
    public async Task TrainStep_LoaderBatchForAModelOffTheCpu_ThrowsNamingTheDeviceAndTheFeed()
    {
        await using var loader = TorchEpochsTests.RegressionLoader(seed: 23);
        using var model = TorchEpochsTests.Model();
        model.to(new Device(DeviceType.META));
        using var criterion = nn.MSELoss();
        using var optimizer = optim.SGD(model.parameters(), learningRate: 0.1);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => loader.ForEachAsync(
            (batch, _) =>
            {
                using var loss = TorchEpochs.TrainStep(batch, model, criterion, optimizer);
                return ValueTask.CompletedTask;
            }));

        Assert.Contains("trains on the CPU, and the model is on meta", error.Message);
        Assert.Contains("TorchFeed", error.Message);
    }
}
