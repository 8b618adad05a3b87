using TorchSharp;
using static TorchSharp.torch;
using StreamingLoader.Internal;

namespace StreamingLoader.TorchSharp.Tests;

/// <summary>
/// User code that throws or a cancellation in the middle of a pass or step: the caller sees it, the one training
/// thread survives it, and the next pass runs.
/// </summary>
public class TorchEpochsFaultTests
{
    [Fact]
    public async Task TrainEpochAsync_ModelThrowsMidPass_CallerGetsTheError_NextPassRuns()
    {
        await using var loader = TorchEpochsTests.RegressionLoader(seed: 11);
        using var model = new ProbeModel(TorchEpochsTests.Model()) { ThrowAt = 5 };
        using var criterion = nn.MSELoss();
        using var optimizer = optim.SGD(model.parameters(), learningRate: 0.1);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => loader.TrainEpochAsync(model, criterion, optimizer));
        Assert.Equal("forward 5 failed", error.Message);

        model.ThrowAt = null;
        var next = await loader.TrainEpochAsync(model, criterion, optimizer);
        Assert.Equal(16, next.Batches);
    }

    [Fact]
    public async Task TrainEpochAsync_CanceledMidPass_EndsCanceled_NextPassRuns()
    {
        await using var loader = TorchEpochsTests.RegressionLoader(seed: 12);
        using var cancel = new CancellationTokenSource();
        using var model = new ProbeModel(TorchEpochsTests.Model()) { CancelAt = 3, Cancel = cancel };
        using var criterion = nn.MSELoss();
        using var optimizer = optim.SGD(model.parameters(), learningRate: 0.1);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => loader.TrainEpochAsync(model, criterion, optimizer, cancellationToken: cancel.Token));
        Assert.InRange(model.Calls, 3, 4);

        // A token canceled before the pass starts: canceled without a step.
        model.Calls = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => loader.EvaluateEpochAsync(model, criterion, cancellationToken: cancel.Token));
        Assert.Equal(0, model.Calls);

        model.CancelAt = null;
        Assert.Equal(16, (await loader.EvaluateEpochAsync(model, criterion)).Batches);
    }

    [Fact]
    public async Task TrainStep_ModelThrows_HandlerAndForEachAsyncSeeTheError()
    {
        await using var loader = TorchEpochsTests.RegressionLoader(seed: 13);
        using var model = new ProbeModel(TorchEpochsTests.Model()) { ThrowAt = 7 };
        using var criterion = nn.MSELoss();
        using var optimizer = optim.SGD(model.parameters(), learningRate: 0.1);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TorchEpochsTests.TrainInHandlerAsync(loader, model, criterion, optimizer, epochs: 1));
        Assert.Equal("forward 7 failed", error.Message);
    }

    [Fact]
    public async Task Passes_ThrowingOrCanceledAtRandomSteps_200Times_EachEndsAsItShould()
    {
        // The training thread runs pass after pass; an error or a cancellation at any step must end that pass alone.
        await using var loader = TorchEpochsTests.RegressionLoader(seed: 14);
        using var model = new ProbeModel(TorchEpochsTests.Model());
        using var criterion = nn.MSELoss();
        using var optimizer = optim.SGD(model.parameters(), learningRate: 0.01);
        var random = new Random(3);
        for (var run = 0; run < 200; run++)
        {
            using var cancel = new CancellationTokenSource();
            var step = random.Next(1, 17);
            var outcome = run % 3;
            model.Calls = 0;
            model.ThrowAt = outcome == 0 ? step : null;
            model.CancelAt = outcome == 1 ? step : null;
            model.Cancel = cancel;
            var pass = loader.TrainEpochAsync(model, criterion, optimizer, cancellationToken: cancel.Token);
            switch (outcome)
            {
                case 0:
                    Assert.Equal($"forward {step} failed", (await Assert.ThrowsAsync<InvalidOperationException>(() => pass)).Message);
                    break;
                case 1:
                    await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pass);
                    break;
                default:
                    Assert.Equal(16, (await pass).Batches);
                    break;
            }

            // The loader prefetches the next epoch; a batch a pass leaked would add to that, until the pool ran dry.
            Assert.InRange(((IMetricsSource)loader).PoolLeases, 0, ((IMetricsSource)loader).PoolCapacity);
        }

        // Every batch is back in the pool once the loader is disposed, after 200 passes ended every way.
        await loader.DisposeAsync();
        Assert.Equal(0, ((IMetricsSource)loader).PoolLeases);
    }
}
