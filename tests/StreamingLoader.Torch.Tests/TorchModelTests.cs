using StreamingLoader.CpuTraining;
namespace StreamingLoader.Torch.Tests;

public class TorchModelTests
{
    [Fact]
    public void Mlp_256_128_100_ParameterCountMatchesPyTorch()
    {
        using var model = TorchModel.Mlp([784, 256, 128, 100, 10]);

        // sum(p.numel() for p in nn.Sequential(Linear(784,256), ReLU(), Linear(256,128), ReLU(), Linear(128,100), ReLU(), Linear(100,10)).parameters())
        Assert.Equal((784 * 256) + 256 + (256 * 128) + 128 + (128 * 100) + 100 + (100 * 10) + 10, model.ParameterCount);
        Assert.Equal(247_766, model.ParameterCount);
        Assert.Equal("MLP", model.Kind);
    }

    [Fact]
    public void Cnn_Defaults_ParameterCountMatchesPyTorch()
    {
        using var model = TorchModel.Cnn(channels: 1, height: 28, width: 28, classes: 10);

        // Conv2d(1,32,3) + Conv2d(32,64,3) + Linear(64·7·7, 128) + Linear(128, 10)
        Assert.Equal((1 * 32 * 9) + 32 + (32 * 64 * 9) + 64 + (64 * 7 * 7 * 128) + 128 + (128 * 10) + 10, model.ParameterCount);
        Assert.Contains("Conv2d", model.ToString());
        Assert.Contains("MaxPool2d", model.ToString());
    }

    [Fact]
    public void Cnn_FlatFeatures_AreReshapedToImages()
    {
        using var model = TorchModel.Cnn(1, 28, 28, 10, conv1Channels: 4, conv2Channels: 8, hidden: 16, seed: 1);
        var image = new float[784];
        image[400] = 1;

        var fromImage = model.Predict(image, [1, 1, 28, 28]);
        var fromFlat = model.Predict(image, [1, 784]);

        Assert.Equal(10, fromImage.Length);
        Assert.Equal(fromImage, fromFlat);
    }

    [Fact]
    public void Linear_SameSeed_SameInitialWeights()
    {
        using var a = TorchModel.Linear(3, 2, seed: 42);
        using var b = TorchModel.Linear(3, 2, seed: 42);
        using var c = TorchModel.Linear(3, 2, seed: 43);

        Assert.Equal(TestData.Probe(a, 3), TestData.Probe(b, 3));
        Assert.NotEqual(TestData.Probe(a, 3), TestData.Probe(c, 3));
    }

    [Fact]
    public void Predict_OutputLargerThanTheFirstBuffer_ReturnsEveryValue()
    {
        using var model = TorchModel.Mlp([4, 8, 10], seed: 0);
        var input = Enumerable.Range(0, 100 * 4).Select(i => i / 400f).ToArray();

        var output = model.Predict(input, [100, 4]);

        Assert.Equal(1000, output.Length);
        // A 1-row product and a 100-row product are blocked differently by the BLAS: equal within rounding, not bit for bit.
        var single = model.Predict(input.AsSpan(99 * 4, 4), [1, 4]);
        for (var i = 0; i < single.Length; i++)
        {
            Assert.Equal(single[i], output[990 + i], 1e-5f);
        }
    }

    [Fact]
    public async Task Predict_BatchFeatures_MatchesPredictOnTheSameValues()
    {
        using var model = TorchModel.Mlp([784, 16, 10], seed: 3);
        await using var loader = TestData.FashionLoader(train: false, batchSize: 8);

        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                var fromBatch = model.Predict(batch.Features);
                var fromSpan = model.Predict(batch.Features.AsSpan<float>(), [8, 1, 28, 28]);

                Assert.Equal(80, fromBatch.Length);
                Assert.Equal(fromSpan, fromBatch);
            }

            break;
        }
    }

    [Theory]
    [InlineData("linear")]
    [InlineData("mlp")]
    [InlineData("cnn")]
    [InlineData("script")]
    public async Task SaveThenLoad_IntoAFreshModel_RestoresTheOutputs(string kind)
    {
        using var saved = await CreateAsync(kind, seed: 5);
        using var fresh = await CreateAsync(kind, seed: 6);
        var features = kind == "linear" ? 3 : 784;
        var path = Path.Combine(Path.GetTempPath(), $"slt-{kind}-{Guid.NewGuid():N}.pt");
        try
        {
            Assert.NotEqual(TestData.Probe(saved, features), TestData.Probe(fresh, features));

            saved.Save(path);
            fresh.Load(path);

            Assert.Equal(TestData.Probe(saved, features), TestData.Probe(fresh, features));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_WeightsOfAnotherArchitecture_ThrowsTorchException()
    {
        using var small = TorchModel.Mlp([784, 16, 10]);
        using var large = TorchModel.Mlp([784, 32, 10]);
        var path = Path.Combine(Path.GetTempPath(), $"slt-arch-{Guid.NewGuid():N}.pt");
        try
        {
            small.Save(path);

            Assert.Throws<TorchException>(() => large.Load(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void TrainAndEval_SwitchTheModelsMode()
    {
        using var model = TorchModel.Mlp([4, 4, 2]);

        Assert.True(model.IsTraining);
        model.Eval();
        Assert.False(model.IsTraining);
        model.Train();
        Assert.True(model.IsTraining);
    }

    [Fact]
    public void Dispose_Twice_IsIdempotentAndLaterUseThrows()
    {
        var model = TorchModel.Linear(3, 1);

        model.Dispose();
        model.Dispose();

        Assert.Throws<ObjectDisposedException>(() => model.ParameterCount);
        Assert.Contains("disposed", model.ToString());
    }

    [Fact]
    public void Factories_InvalidSizes_ThrowBeforeCallingLibtorch()
    {
        Assert.Throws<ArgumentException>(() => TorchModel.Mlp([784]));
        Assert.Throws<ArgumentOutOfRangeException>(() => TorchModel.Mlp([784, 0, 10]));
        Assert.Throws<ArgumentOutOfRangeException>(() => TorchModel.Linear(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => TorchModel.Cnn(1, 3, 28, 10));
    }

    [Fact]
    public void Optimizers_LearningRate_CanBeChangedLikeAScheduler()
    {
        using var model = TorchModel.Linear(3, 1);
        using var sgd = TorchOptimizer.Sgd(model, 0.1, momentum: 0.9, nesterov: true);
        using var adam = TorchOptimizer.Adam(model);

        Assert.Equal(0.1, sgd.LearningRate, 12);
        Assert.Equal(1e-3, adam.LearningRate, 12);
        sgd.LearningRate = 0.05;
        Assert.Equal(0.05, sgd.LearningRate, 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => sgd.LearningRate = 0);
        Assert.Throws<ArgumentException>(() => TorchOptimizer.Sgd(model, 0.1, nesterov: true));
        Assert.Contains("Adam", adam.ToString());
    }

    internal static async Task<TorchModel> CreateAsync(string kind, ulong seed) => kind switch
    {
        "linear" => TorchModel.Linear(3, 2, seed),
        "mlp" => TorchModel.Mlp([784, 32, 10], seed),
        "cnn" => TorchModel.Cnn(1, 28, 28, 10, conv1Channels: 4, conv2Channels: 8, hidden: 16, seed: seed),
        _ => await ScriptAsync(perturbed: seed % 2 == 0),
    };

    /// <summary>The module scripted in PyTorch, as saved, or after one SGD step (so that two copies differ).</summary>
    private static async Task<TorchModel> ScriptAsync(bool perturbed)
    {
        var model = TorchModel.LoadScript(TestData.DataFile("scripted_mlp.pt"));
        if (perturbed)
        {
            using var optimizer = TorchOptimizer.Sgd(model, 0.5);
            using var trainer = new TorchTrainer(model, optimizer, TorchLoss.CrossEntropy);
            await using var loader = TestData.FashionLoader(train: false, batchSize: 32);
            await foreach (var batch in loader.ReadEpochAsync())
            {
                using (batch)
                {
                    trainer.TrainStep(batch);
                }

                break;
            }
        }

        return model;
    }
}
