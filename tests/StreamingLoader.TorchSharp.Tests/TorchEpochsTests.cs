using System.Reactive.Linq;
using TorchSharp;
using static TorchSharp.torch;
using StreamingLoader.Datasets;
using StreamingLoader.Training;

namespace StreamingLoader.TorchSharp.Tests;

/// <summary>
/// The three ways to consume a loader each drive TorchSharp training steps to the same answer: a linear model of
/// y = 2·x0 − 3·x1 + 0.5·x2 + 1 learned from 512 samples.
/// </summary>
public class TorchEpochsTests
{
    private static readonly float[] Weights = [2f, -3f, 0.5f];
    private const float Bias = 1f;

    [Fact]
    public async Task TrainEpochAsync_PullThroughTheFeed_LearnsTheLinearMap()
    {
        await using var loader = RegressionLoader(seed: 1);
        using var model = Model();
        using var criterion = nn.MSELoss();
        using var optimizer = optim.SGD(model.parameters(), learningRate: 0.1);
        await using var feed = TorchFeed.Create();

        EpochResult? first = null, last = null;
        for (var epoch = 0; epoch < 8; epoch++)
        {
            last = await loader.TrainEpochAsync(model, criterion, optimizer, feed);
            first ??= last;
        }

        Assert.Equal(DeviceType.CPU, feed.Device.type);
        Assert.Equal(16, last!.Batches);
        Assert.Equal(512, last.Samples);
        Assert.True(last.MeanLoss < first!.MeanLoss / 100, $"loss {first.MeanLoss} → {last.MeanLoss}");
        Assert.InRange(last.InputWait, TimeSpan.Zero, last.Elapsed);
        AssertLearned(model);
    }

    [Fact]
    public async Task Stage_InForEachAsyncHandler_LearnsTheLinearMap()
    {
        await using var loader = RegressionLoader(seed: 2);
        using var model = Model();
        using var criterion = nn.MSELoss();
        using var optimizer = optim.SGD(model.parameters(), learningRate: 0.1);
        await TrainInHandlerAsync(loader, model, criterion, optimizer, epochs: 8);

        AssertLearned(model);
    }

    /// <summary>Trains with <see cref="TorchEpochs.TrainStep"/> on batches staged inside a ForEachAsync handler.</summary>
    internal static async Task TrainInHandlerAsync(DataLoader loader, nn.Module<Tensor, Tensor> model, nn.Module<Tensor, Tensor, Tensor> criterion, optim.Optimizer optimizer, int epochs)
    {
        await using var feed = TorchFeed.Create(CPU);
        await loader.ForEachAsync(
            (batch, _) =>
            {
                using var staged = feed.Stage(batch);
                using var loss = TorchEpochs.TrainStep(staged, model, criterion, optimizer);
                return ValueTask.CompletedTask;
            },
            epochs);
    }

    [Fact]
    public async Task Stage_InObserver_LearnsTheLinearMapAndReportsTheLoss()
    {
        await using var loader = RegressionLoader(seed: 3);
        using var model = Model();
        using var criterion = nn.MSELoss();
        using var optimizer = optim.SGD(model.parameters(), learningRate: 0.1);
        await using var feed = TorchFeed.Create(CPU);
        var losses = new List<float>();

        await loader.AsObservable(epochs: 8).Do(batch =>
        {
            using var staged = feed.Stage(batch);
            using var loss = TorchEpochs.TrainStep(staged, model, criterion, optimizer);
            losses.Add(loss.item<float>());
        });

        Assert.Equal(8 * 16, losses.Count);
        Assert.True(losses[^1] < losses[0] / 100, $"loss {losses[0]} → {losses[^1]}");
        AssertLearned(model);
    }

    [Fact]
    public async Task TrainStep_StaleGradients_NeitherAddedNorApplied()
    {
        await using var loader = RegressionLoader(seed: 4);
        using var model = Model();
        using var reference = Model();
        using var outside = nn.Parameter(ones(2)); // a parameter the optimizer holds outside the model
        using var criterion = nn.MSELoss();
        using var optimizer = optim.SGD(model.parameters().Append(outside), learningRate: 0.1);
        using var referenceOptimizer = optim.SGD(reference.parameters(), learningRate: 0.1);
        using (NewDisposeScope())
        {
            // Gradients left over from earlier work, in the model and outside it.
            model.call(ones(4, 3)).sum().backward();
            (outside * 5).sum().backward();
        }

        await using var feed = TorchFeed.Create(CPU);
        var stepped = false;
        await foreach (var batch in feed.ReadEpochAsync(loader))
        {
            using (batch)
            {
                if (!stepped)
                {
                    using var loss = TorchEpochs.TrainStep(batch, model, criterion, optimizer);
                    using var referenceLoss = TorchEpochs.TrainStep(batch, reference, criterion, referenceOptimizer);
                    stepped = true;
                }
            }
        }

        // The same step as a model that had no stale gradient; the outside parameter's stale gradient was zeroed.
        var weights = ((global::TorchSharp.Modules.Linear)model).weight!.data<float>().ToArray();
        var expected = ((global::TorchSharp.Modules.Linear)reference).weight!.data<float>().ToArray();
        for (var j = 0; j < 3; j++)
        {
            Assert.Equal(expected[j], weights[j], 1e-6f);
        }

        Assert.Equal([1f, 1f], outside.data<float>().ToArray());
        Assert.Equal([0f, 0f], outside.grad!.data<float>().ToArray());
    }

    [Fact]
    public async Task EvaluateEpochAsync_Classifier_CountsCorrectArgMaxWithoutTouchingTheWeights()
    {
        // Two classes separated by the sign of x0; a linear layer whose weights pick x0 classifies all of them.
        var features = new float[200];
        var labels = new long[100];
        for (var i = 0; i < 100; i++)
        {
            features[2 * i] = (i % 2 == 0 ? 1 : -1) * (1 + (i % 7));
            features[(2 * i) + 1] = i % 5;
            labels[i] = i % 2 == 0 ? 1 : 0;
        }

        await using var loader = Pipeline.From(new TensorDataset<float, long>(features, [2], labels)).Build(new LoaderOptions { BatchSize = 32, Workers = 1 });
        using var model = nn.Linear(2, 2);
        using (no_grad())
        {
            model.weight!.copy_(tensor(new float[] { -1, 0, 1, 0 }).reshape(2, 2));
            model.bias!.zero_();
        }

        using var before = model.weight!.clone();
        using var criterion = nn.CrossEntropyLoss();

        var result = await loader.EvaluateEpochAsync(model, criterion);

        Assert.Equal(100, result.Samples);
        Assert.Equal(4, result.Batches);
        Assert.Equal(100, result.Correct);
        Assert.Equal(1.0, result.Accuracy);
        Assert.Equal(before.data<float>().ToArray(), model.weight!.data<float>().ToArray());
    }

    [Fact]
    public void Create_CudaWithoutCuda_ThrowsWithTheReason()
    {
        if (Internal.Cuda.Availability() is null)
        {
            return; // a CUDA machine with a CUDA TorchSharp: CudaFeedTests covers it
        }

        var error = Assert.Throws<InvalidOperationException>(() => TorchFeed.Create(new Device(DeviceType.CUDA, 0)));
        Assert.Contains("Cannot feed cuda", error.Message);
        Assert.Equal(DeviceType.CPU, TorchFeed.Create().Device.type);
    }

    [Fact]
    public async Task TrainEpochAsync_InputWaitsResumeOnOtherThreads_EveryStepRunsOnTheSameThread()
    {
        // A slow sample every 32 makes the pass wait for input, and a wait completes on whichever loader thread
        // delivered: the steps must still all run on one thread (libtorch's OpenMP team and MKL's buffers are per thread).
        var data = RegressionData();
        await using var loader = Pipeline.From(Dataset.FromFunc(512, data.GetItem))
            .Transform((s, c) =>
            {
                if (c.Index % 32 == 0)
                {
                    Thread.Sleep(5);
                }

                return s;
            })
            .Build(new LoaderOptions { BatchSize = 16, Workers = 2, Prefetch = 1, Seed = 5 });
        using var inner = Model();
        using var model = new ProbeModel(inner);
        using var criterion = nn.MSELoss();
        using var optimizer = optim.SGD(inner.parameters(), learningRate: 0.1);

        for (var epoch = 0; epoch < 3; epoch++)
        {
            var threads = new HashSet<int>();
            model.Threads = threads;
            var result = await loader.TrainEpochAsync(model, criterion, optimizer);
            Assert.Equal(32, result.Batches);
            Assert.Single(threads);
        }
    }

    internal static DataLoader RegressionLoader(ulong seed, string name = "default") =>
        Pipeline.From(RegressionData()).Build(new LoaderOptions { BatchSize = 32, Shuffle = true, Seed = seed, Workers = 2, Name = name });

    /// <summary>512 samples of the linear map, with their targets.</summary>
    private static TensorDataset<float, float> RegressionData()
    {
        var random = new Random(42);
        var x = new float[512 * 3];
        var y = new float[512];
        for (var i = 0; i < 512; i++)
        {
            var target = Bias;
            for (var j = 0; j < 3; j++)
            {
                x[(i * 3) + j] = (float)((random.NextDouble() * 2) - 1);
                target += Weights[j] * x[(i * 3) + j];
            }

            y[i] = target;
        }

        return new TensorDataset<float, float>(x, [3], y, [1]);
    }

    internal static nn.Module<Tensor, Tensor> Model()
    {
        manual_seed(0);
        return nn.Linear(3, 1);
    }

    internal static void AssertLearned(nn.Module<Tensor, Tensor> model)
    {
        var linear = (global::TorchSharp.Modules.Linear)model;
        var weights = linear.weight!.data<float>().ToArray();
        for (var j = 0; j < 3; j++)
        {
            Assert.InRange(weights[j], Weights[j] - 0.01f, Weights[j] + 0.01f);
        }

        Assert.InRange(linear.bias!.item<float>(), Bias - 0.01f, Bias + 0.01f);
    }
}
