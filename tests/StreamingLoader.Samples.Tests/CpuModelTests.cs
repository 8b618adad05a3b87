using StreamingLoader.CpuTraining;
using StreamingLoader.Datasets;
using StreamingLoader.Training;

namespace StreamingLoader.Samples.Tests;

public class CpuModelTests
{
    [Fact]
    public async Task TrainStep_SoftmaxRegression_StepIsLearningRateTimesFiniteDifferenceGradient()
    {
        var model = CpuModels.SoftmaxRegression(features: 5, classes: 3, learningRate: 0.01f, seed: 7);
        await AssertGradientAsync(model, Classification(count: 6, features: 5, classes: 3));
    }

    [Fact]
    public async Task TrainStep_Mlp_StepIsLearningRateTimesFiniteDifferenceGradient()
    {
        var model = CpuModels.Mlp([5, 7, 4, 3], learningRate: 0.01f, seed: 3);
        await AssertGradientAsync(model, Classification(count: 6, features: 5, classes: 3));
    }

    [Fact]
    public async Task TrainStep_LinearRegressionWithTwoOutputs_StepIsLearningRateTimesFiniteDifferenceGradient()
    {
        var model = CpuModels.LinearRegression(features: 4, outputs: 2, learningRate: 0.01f, seed: 5);
        await AssertGradientAsync(model, Regression(count: 5, features: 4, outputs: 2));
    }

    [Fact]
    public async Task TrainStep_ReturnsTheBatchLossBeforeTheUpdate()
    {
        var model = CpuModels.Mlp([5, 6, 3], learningRate: 0.1f, seed: 1);
        await using var loader = Pipeline.From(Classification(8, 5, 3)).Build(new LoaderOptions { BatchSize = 8, Workers = 1 });
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                var before = model.Evaluate(batch);
                var loss = model.TrainStep(batch);
                var after = model.Evaluate(batch);

                Assert.Equal(before.LossSum / before.Count, loss, 1e-5);
                Assert.True(after.LossSum < before.LossSum, $"The step did not lower the batch loss: {before.LossSum} → {after.LossSum}.");
            }
        }
    }

    [Fact]
    public async Task Evaluate_Batch_LeavesParametersUnchanged()
    {
        var model = CpuModels.SoftmaxRegression(5, 3, 0.1f, seed: 2);
        var before = Parameters(model);
        await using var loader = Pipeline.From(Classification(8, 5, 3)).Build(new LoaderOptions { BatchSize = 4, Workers = 1 });

        var result = await model.EvaluateAsync(loader);

        Assert.Equal(8, result.Samples);
        Assert.Equal(before, Parameters(model));
    }

    [Fact]
    public void Factories_SameSeed_SameParameters_DifferentSeed_DifferentParameters()
    {
        var a = Parameters(CpuModels.Mlp([10, 8, 3], 0.1f, seed: 42));
        var b = Parameters(CpuModels.Mlp([10, 8, 3], 0.1f, seed: 42));
        var c = Parameters(CpuModels.Mlp([10, 8, 3], 0.1f, seed: 43));

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.Equal((10 * 8) + 8 + (8 * 3) + 3, a.Length);

        // nn.Linear's initialization: uniform in ±1/√fan_in (fan_in 10 for the first layer, 8 for the second).
        Assert.All(a[..88], p => Assert.InRange(p, -1 / MathF.Sqrt(10), 1 / MathF.Sqrt(10)));
        Assert.All(a[88..], p => Assert.InRange(p, -1 / MathF.Sqrt(8), 1 / MathF.Sqrt(8)));
    }

    [Fact]
    public async Task TrainEpochAsync_SameSeeds_SameParametersWhateverTheWorkerCount()
    {
        var one = await TrainTwoEpochsAsync(workers: 1);
        var four = await TrainTwoEpochsAsync(workers: 4);

        Assert.Equal(one, four);

        static async Task<float[]> TrainTwoEpochsAsync(int workers)
        {
            var model = CpuModels.SoftmaxRegression(5, 3, 0.1f, seed: 9);
            await using var loader = Pipeline.From(Classification(50, 5, 3)).Build(new LoaderOptions { BatchSize = 8, Shuffle = true, Seed = 11, Workers = workers });
            await model.TrainEpochAsync(loader);
            await model.TrainEpochAsync(loader);
            return Parameters(model);
        }
    }

    [Fact]
    public async Task TrainEpochAsync_MoreBatchesThanThePoolHolds_DisposesEveryBatchAndLearns()
    {
        // The pool holds Prefetch + 2 × Workers + 2 = 5 buffers: a batch kept undisposed would soon exhaust it.
        var model = CpuModels.SoftmaxRegression(5, 3, 0.5f, seed: 1);
        var data = Classification(64, 5, 3);
        await using var loader = Pipeline.From(data).Build(new LoaderOptions { BatchSize = 8, Shuffle = true, Workers = 1, Prefetch = 1 });
        await using var testLoader = Pipeline.From(data).Build(new LoaderOptions { BatchSize = 64, Workers = 1 });
        var steps = 0;

        EpochResult? last = null;
        for (var epoch = 0; epoch < 30; epoch++)
        {
            last = await model.TrainEpochAsync(loader, (batch, loss) => steps++);
        }

        var test = await model.EvaluateAsync(testLoader);
        Assert.NotNull(last);
        Assert.Equal(8, last.Batches);
        Assert.Equal(64, last.Samples);
        Assert.Equal(30 * 8, steps);
        Assert.True(test.Accuracy > 0.9, $"Accuracy {test.Accuracy} on well-separated classes.");
    }

    [Fact]
    public async Task TrainStep_SteadyState_AllocatesNothing()
    {
        var model = CpuModels.Mlp([5, 16, 3], 0.01f, seed: 1);
        await using var loader = Pipeline.From(Classification(32, 5, 3)).Build(new LoaderOptions { BatchSize = 32, Workers = 1 });
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                model.TrainStep(batch);
                model.Evaluate(batch);
                var before = GC.GetAllocatedBytesForCurrentThread();
                for (var i = 0; i < 100; i++)
                {
                    model.TrainStep(batch);
                    model.Evaluate(batch);
                }

                Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
            }
        }
    }

    [Fact]
    public void Predict_Classifier_ReturnsProbabilities()
    {
        var model = CpuModels.Mlp([4, 5, 3], 0.1f, seed: 4);
        var outputs = new float[3];

        model.Predict([1f, -2f, 3f, 0.5f], outputs);

        Assert.All(outputs, p => Assert.InRange(p, 0f, 1f));
        Assert.Equal(1f, outputs.Sum(), 1e-5f);
    }

    [Fact]
    public void Predict_LinearRegression_ComputesWeightsTimesInputPlusBias()
    {
        var model = CpuModels.LinearRegression(features: 2, outputs: 1, learningRate: 0.1f);
        model.LoadParameters([2f, -3f, 0.5f]); // weight [1, 2] then bias [1]
        var output = new float[1];

        model.Predict([4f, 1f], output);

        Assert.Equal((2f * 4f) - 3f + 0.5f, output[0]);
    }

    [Fact]
    public async Task TrainStep_ByteFeatures_ThrowsPointingAtBytesToFloat()
    {
        var model = CpuModels.SoftmaxRegression(4, 3, 0.1f);
        var data = new TensorDataset<byte, long>(new byte[8], [4], [0, 1]);
        var error = await Assert.ThrowsAsync<ArgumentException>(() => TrainOneAsync(model, Pipeline.From(data).Build()));
        Assert.Contains("Collate.BytesToFloat", error.Message);
    }

    [Fact]
    public async Task TrainStep_WrongFeatureCount_ThrowsNamingBothSizes()
    {
        var model = CpuModels.SoftmaxRegression(784, 10, 0.1f);
        var error = await Assert.ThrowsAsync<ArgumentException>(() => TrainOneAsync(model, Pipeline.From(Classification(4, 5, 3)).Build()));
        Assert.Contains("784", error.Message);
        Assert.Contains("[5]", error.Message);
    }

    [Fact]
    public async Task TrainStep_LabelOutsideTheClasses_ThrowsNamingTheSample()
    {
        var model = CpuModels.SoftmaxRegression(2, 3, 0.1f);
        var data = new TensorDataset<float, long>(new float[6], [2], [0, 5, 1]);
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => TrainOneAsync(model, Pipeline.From(data).Build(new LoaderOptions { BatchSize = 3 })));
        Assert.Contains("Sample 1 has class label 5", error.Message);
    }

    [Fact]
    public async Task TrainStep_RegressionWithClassLabels_Throws()
    {
        var model = CpuModels.LinearRegression(5, 1, 0.1f);
        var error = await Assert.ThrowsAsync<ArgumentException>(() => TrainOneAsync(model, Pipeline.From(Classification(4, 5, 3)).Build()));
        Assert.Contains("Float32", error.Message);
    }

    [Fact]
    public void Factories_InvalidArguments_Throw()
    {
        Assert.Throws<ArgumentException>(() => CpuModels.Mlp([784], 0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuModels.Mlp([784, 0, 10], 0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuModels.SoftmaxRegression(784, 1, 0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuModels.LinearRegression(3, 1, 0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuModels.LinearRegression(3, 1, float.NaN));
        Assert.Throws<ArgumentException>(() => CpuModels.LinearRegression(3, 1, 0.1f).LoadParameters(new float[3]));
    }

    /// <summary>
    /// One SGD step moves the parameters by −lr·∇L; ∇L is checked against central finite differences of the batch's
    /// mean loss, computed with <see cref="ICpuModel.Evaluate"/> on the same batch.
    /// </summary>
    private static async Task AssertGradientAsync<TLabel>(ICpuModel model, TensorDataset<float, TLabel> data)
        where TLabel : unmanaged
    {
        await using var loader = Pipeline.From(data).Build(new LoaderOptions { BatchSize = data.Count, Workers = 1 });
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                var start = Parameters(model);
                model.TrainStep(batch);
                var after = Parameters(model);
                const double epsilon = 1e-3;
                for (var j = 0; j < start.Length; j++)
                {
                    var analytic = (start[j] - (double)after[j]) / model.LearningRate;
                    var probe = (float[])start.Clone();
                    probe[j] = start[j] + (float)epsilon;
                    model.LoadParameters(probe);
                    var plus = MeanLoss(model.Evaluate(batch));
                    probe[j] = start[j] - (float)epsilon;
                    model.LoadParameters(probe);
                    var minus = MeanLoss(model.Evaluate(batch));
                    var numeric = (plus - minus) / (2 * epsilon);
                    Assert.True(
                        Math.Abs(analytic - numeric) <= 2e-3 + (0.02 * Math.Abs(numeric)),
                        $"Parameter {j}: the step implies gradient {analytic}, finite differences give {numeric}.");
                }
            }
        }
    }

    private static double MeanLoss(BatchEvaluation evaluation) => evaluation.LossSum / evaluation.Count;

    private static async Task TrainOneAsync(ICpuModel model, DataLoader loader)
    {
        await using (loader)
        {
            await model.TrainEpochAsync(loader);
        }
    }

    private static float[] Parameters(ICpuModel model)
    {
        var parameters = new float[model.ParameterCount];
        model.CopyParametersTo(parameters);
        return parameters;
    }

    /// <summary>Linearly separable classes: the label is the index of the largest of the first <paramref name="classes"/> features.</summary>
    private static TensorDataset<float, long> Classification(int count, int features, int classes)
    {
        var x = new float[count * features];
        var y = new long[count];
        for (var i = 0; i < count; i++)
        {
            var random = new CounterRandom(123, 0, i);
            for (var j = 0; j < features; j++)
            {
                x[(i * features) + j] = (float)random.NextGaussian();
            }

            y[i] = i % classes;
            x[(i * features) + (int)y[i]] += 3f;
        }

        return new TensorDataset<float, long>(x, [features], y);
    }

    private static TensorDataset<float, float> Regression(int count, int features, int outputs)
    {
        var x = new float[count * features];
        var y = new float[count * outputs];
        for (var i = 0; i < count; i++)
        {
            var random = new CounterRandom(321, 0, i);
            for (var j = 0; j < features; j++)
            {
                x[(i * features) + j] = (float)random.NextGaussian();
            }

            for (var o = 0; o < outputs; o++)
            {
                y[(i * outputs) + o] = (float)random.NextGaussian() * 2;
            }
        }

        return new TensorDataset<float, float>(x, [features], y, [outputs]);
    }
}
