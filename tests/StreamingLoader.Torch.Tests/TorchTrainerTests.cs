using System.Diagnostics.Metrics;
using System.Reactive.Linq;

namespace StreamingLoader.Torch.Tests;

public class TorchTrainerTests
{
    [Fact]
    public async Task TrainEpochAsync_RegressionData_LearnsTheGeneratingWeights()
    {
        using var model = TorchModel.Linear(3, 1, seed: 0);
        using var optimizer = TorchOptimizer.Sgd(model, 0.05, momentum: 0.9);
        await using var trainer = new TorchTrainer(model, optimizer, TorchLoss.MeanSquaredError);
        await using var loader = TestData.Loader(TestData.Regression(512), batchSize: 32);

        TorchEpochResult last = default;
        for (var epoch = 0; epoch < 15; epoch++)
        {
            last = await trainer.TrainEpochAsync(loader);
        }

        Assert.Equal(14, last.Epoch);
        Assert.Equal(16, last.Batches);
        Assert.Equal(512, last.Samples);
        Assert.True(last.MeanLoss < 1e-4, $"MSE after 15 epochs: {last.MeanLoss}.");
        Assert.Equal(TestData.TrueBias, model.Predict([0, 0, 0], [1, 3])[0], 2);
        Assert.Equal(TestData.TrueBias + TestData.TrueWeights[1], model.Predict([0, 1, 0], [1, 3])[0], 2);
    }

    [Theory]
    [InlineData("subscribe")]
    [InlineData("observable")]
    [InlineData("step")]
    public async Task FeedPaths_SameSeed_TrainTheSameWeightsAsReadEpoch(string feed)
    {
        var (pullProbe, pullLosses) = await TrainClassifierAsync("pull", prefetchDepth: 1);
        var (probe, losses) = await TrainClassifierAsync(feed, prefetchDepth: 1);

        Assert.Equal(pullProbe, probe);
        Assert.Equal(pullLosses, losses);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public async Task TrainEpochAsync_PrefetchDepths_TrainTheSameWeights(int depth)
    {
        var (oneAhead, oneAheadLosses) = await TrainClassifierAsync("pull", prefetchDepth: 1);
        var (probe, losses) = await TrainClassifierAsync("pull", prefetchDepth: depth);

        Assert.Equal(oneAhead, probe);
        Assert.Equal(oneAheadLosses, losses);
    }

    [Fact]
    public async Task TrainEpochAsync_PoolOfTwoBuffers_ReturnsEveryBatchToThePool()
    {
        using var model = TorchModel.Mlp([4, 8, 3], seed: 1);
        using var optimizer = TorchOptimizer.Adam(model, 0.01);
        await using var trainer = new TorchTrainer(model, optimizer, TorchLoss.CrossEntropy, new TorchTrainerOptions { PrefetchDepth = 1 });
        await using var loader = TestData.Loader(TestData.Classification(300), batchSize: 10, workers: 1, poolSize: 2);

        for (var epoch = 0; epoch < 3; epoch++)
        {
            var result = await trainer.TrainEpochAsync(loader);
            Assert.Equal(30, result.Batches);
        }

        Assert.Equal(new TorchTrainerStatistics(0, 0, 0, 0, 90), trainer.Statistics);
    }

    [Fact]
    public async Task TrainEpochAsync_DepthNotBelowThePoolSize_ThrowsArgumentException()
    {
        using var model = TorchModel.Mlp([4, 8, 3]);
        using var optimizer = TorchOptimizer.Adam(model);
        await using var trainer = new TorchTrainer(model, optimizer, TorchLoss.CrossEntropy, new TorchTrainerOptions { PrefetchDepth = 2 });
        await using var loader = TestData.Loader(TestData.Classification(30), batchSize: 10, workers: 1, poolSize: 2);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => trainer.TrainEpochAsync(loader));

        Assert.Contains("PoolSize", error.Message);
    }

    [Fact]
    public async Task EvaluateAsync_AfterTraining_CountsCorrectPredictionsAndLeavesTheWeights()
    {
        using var model = TorchModel.Mlp([4, 32, 3], seed: 2);
        using var optimizer = TorchOptimizer.Adam(model, 0.01);
        await using var trainer = new TorchTrainer(model, optimizer, TorchLoss.CrossEntropy);
        await using var train = TestData.Loader(TestData.Classification(2000), batchSize: 50);
        await using var test = TestData.Loader(TestData.Classification(500, seed: 99), batchSize: 100, shuffle: false);
        for (var epoch = 0; epoch < 10; epoch++)
        {
            await trainer.TrainEpochAsync(train);
        }

        var before = TestData.Probe(model, 4);
        var result = await trainer.EvaluateAsync(test);

        Assert.Equal(before, TestData.Probe(model, 4));
        Assert.Equal(500, result.Count);
        Assert.True(result.Accuracy > 0.95, $"Accuracy on held-out data: {result.Accuracy}.");
        Assert.True(result.MeanLoss < 0.2, $"Loss on held-out data: {result.MeanLoss}.");
    }

    [Fact]
    public async Task TrainStep_ReturnsTheLossBeforeTheUpdate()
    {
        using var model = TorchModel.Linear(3, 1, seed: 4);
        using var optimizer = TorchOptimizer.Sgd(model, 0.1);
        await using var trainer = new TorchTrainer(model, optimizer, TorchLoss.MeanSquaredError);
        await using var loader = TestData.Loader(TestData.Regression(64), batchSize: 64);

        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                var evaluated = trainer.Evaluate(batch);
                var loss = trainer.TrainStep(batch);
                var after = trainer.Evaluate(batch);

                Assert.Equal(64, evaluated.Count);
                Assert.Equal(evaluated.LossSum / 64, loss, 4);
                Assert.True(after.LossSum < evaluated.LossSum);
            }
        }
    }

    [Fact]
    public async Task TrainEpochAsync_WithoutOptimizer_ThrowsInvalidOperation()
    {
        using var model = TorchModel.Linear(3, 1);
        await using var trainer = new TorchTrainer(model, optimizer: null, TorchLoss.MeanSquaredError);
        await using var loader = TestData.Loader(TestData.Regression(8), batchSize: 4);

        await Assert.ThrowsAsync<InvalidOperationException>(() => trainer.TrainEpochAsync(loader));
        var evaluation = await trainer.EvaluateAsync(loader);
        Assert.Equal(8, evaluation.Count);
    }

    [Fact]
    public async Task TrainEpochAsync_FloatLabelsWithCrossEntropy_ThrowsAndReturnsTheBatches()
    {
        using var model = TorchModel.Linear(3, 2);
        using var optimizer = TorchOptimizer.Sgd(model, 0.1);
        await using var classifier = new TorchTrainer(model, optimizer, TorchLoss.CrossEntropy, new TorchTrainerOptions { PrefetchDepth = 1 });
        await using var loader = TestData.Loader(TestData.Regression(40), batchSize: 4, workers: 1, poolSize: 2);

        var error = await Assert.ThrowsAsync<ArgumentException>(() => classifier.TrainEpochAsync(loader));

        Assert.Contains("integer class labels", error.Message);
        Assert.Equal(0, classifier.Statistics.HostHeld);
        Assert.Equal(0, classifier.Statistics.Staged);

        // Every buffer came back: a pool of two serves a whole epoch to another trainer.
        using var regression = TorchModel.Linear(3, 1);
        using var regressionOptimizer = TorchOptimizer.Sgd(regression, 0.1);
        await using var regressor = new TorchTrainer(regression, regressionOptimizer, TorchLoss.MeanSquaredError);
        var result = await regressor.TrainEpochAsync(loader);
        Assert.Equal(10, result.Batches);
    }

    [Fact]
    public async Task TrainEpochAsync_CanceledToken_ThrowsOperationCanceled()
    {
        using var model = TorchModel.Linear(3, 1);
        using var optimizer = TorchOptimizer.Sgd(model, 0.1);
        await using var trainer = new TorchTrainer(model, optimizer, TorchLoss.MeanSquaredError);
        await using var loader = TestData.Loader(TestData.Regression(64), batchSize: 4);
        using var canceled = new CancellationTokenSource();
        await canceled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => trainer.TrainEpochAsync(loader, canceled.Token));
        Assert.Equal(0, trainer.Statistics.HostHeld);
    }

    [Fact]
    public async Task Trainer_SecondCallWhileAnEpochRuns_ThrowsInvalidOperation()
    {
        using var gate = new ManualResetEventSlim();
        using var model = TorchModel.Linear(3, 1);
        using var optimizer = TorchOptimizer.Sgd(model, 0.1);
        await using var trainer = new TorchTrainer(model, optimizer, TorchLoss.MeanSquaredError);
        await using var loader = Pipeline.From(TestData.Regression(16))
            .Transform((sample, _) =>
            {
                gate.Wait();
                return sample;
            })
            .Build(new LoaderOptions { BatchSize = 4, Workers = 1 });

        var epoch = trainer.TrainEpochAsync(loader);

        Assert.Throws<InvalidOperationException>(() => trainer.Flush());
        gate.Set();
        Assert.Equal(4, (await epoch).Batches);
    }

    [Fact]
    public async Task TrainAsync_ObservableThatFails_ThrowsItsError()
    {
        using var model = TorchModel.Linear(3, 1);
        using var optimizer = TorchOptimizer.Sgd(model, 0.1);
        await using var trainer = new TorchTrainer(model, optimizer, TorchLoss.MeanSquaredError);

        await Assert.ThrowsAsync<InvalidDataException>(() => trainer.TrainAsync(Observable.Throw<Batch>(new InvalidDataException("broken source"))));
        Assert.Equal(0, trainer.Statistics.Staged);
    }

    [Fact]
    public async Task TrainEpochAsync_RecordsStepsSamplesAndInputWaitOnTheTorchMeter()
    {
        var longs = new List<(string Name, long Value)>();
        var doubles = new List<(string Name, double Value)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == TorchMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            if (HasTag(tags, TorchMetrics.TrainerTag, "metrics-test"))
            {
                lock (longs)
                {
                    longs.Add((instrument.Name, value));
                }
            }
        });
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            if (HasTag(tags, TorchMetrics.TrainerTag, "metrics-test"))
            {
                lock (doubles)
                {
                    doubles.Add((instrument.Name, value));
                }
            }
        });
        listener.Start();

        using var model = TorchModel.Linear(3, 1);
        using var optimizer = TorchOptimizer.Sgd(model, 0.1);
        await using var trainer = new TorchTrainer(model, optimizer, TorchLoss.MeanSquaredError, new TorchTrainerOptions { Name = "metrics-test" });
        await using var loader = TestData.Loader(TestData.Regression(40), batchSize: 4);
        await trainer.TrainEpochAsync(loader);
        listener.Dispose();

        Assert.Equal(10, longs.Where(m => m.Name == "streamingloader.torch.steps").Sum(m => m.Value));
        Assert.Equal(40, longs.Where(m => m.Name == "streamingloader.torch.samples").Sum(m => m.Value));
        Assert.Equal(10, doubles.Count(m => m.Name == "streamingloader.torch.step.duration"));
        Assert.Equal(10, doubles.Count(m => m.Name == "streamingloader.torch.input.wait"));
        Assert.DoesNotContain(longs, m => m.Name == "streamingloader.torch.copy.bytes"); // the CPU reads batches in place
    }

    [Fact]
    public async Task ByteFeatures_WithFeatureScale_TrainLikeFloatFeatures()
    {
        var data = TestData.FashionTest;
        var options = new LoaderOptions { BatchSize = 100, Shuffle = true, Seed = 1, Workers = 2 };
        await using var bytes = Pipeline.From(data).Build(options);
        await using var floats = Pipeline.From(data).Build(data.CreateCollator(), options);

        using var fromBytes = TorchModel.Mlp([784, 16, 10], seed: 3);
        using var fromFloats = TorchModel.Mlp([784, 16, 10], seed: 3);
        using var bytesOptimizer = TorchOptimizer.Adam(fromBytes);
        using var floatsOptimizer = TorchOptimizer.Adam(fromFloats);
        await using var bytesTrainer = new TorchTrainer(fromBytes, bytesOptimizer, TorchLoss.CrossEntropy, new TorchTrainerOptions { FeatureScale = 1.0 / 255 });
        await using var floatsTrainer = new TorchTrainer(fromFloats, floatsOptimizer, TorchLoss.CrossEntropy);

        var byteResult = await bytesTrainer.TrainEpochAsync(bytes);
        var floatResult = await floatsTrainer.TrainEpochAsync(floats);

        Assert.Equal(floatResult.MeanLoss, byteResult.MeanLoss, 3);
        Assert.InRange(byteResult.Correct, floatResult.Correct - 20, floatResult.Correct + 20);
        var probeBytes = TestData.Probe(fromBytes, 784);
        var probeFloats = TestData.Probe(fromFloats, 784);
        for (var i = 0; i < probeBytes.Length; i++)
        {
            Assert.Equal(probeFloats[i], probeBytes[i], 2);
        }
    }

    [Fact]
    public void Dispose_Twice_IsIdempotentAndLaterUseThrows()
    {
        using var model = TorchModel.Linear(3, 1);
        var trainer = new TorchTrainer(model, optimizer: null, TorchLoss.MeanSquaredError);

        trainer.Dispose();
        trainer.Dispose();

        Assert.Throws<ObjectDisposedException>(() => trainer.Statistics);
        Assert.Throws<ObjectDisposedException>(() => trainer.Flush());
    }

    [Fact]
    public void Constructor_OptimizerOfAnotherModel_ThrowsArgumentException()
    {
        using var model = TorchModel.Linear(3, 1);
        using var other = TorchModel.Linear(3, 1);
        using var optimizer = TorchOptimizer.Sgd(other, 0.1);

        Assert.Throws<ArgumentException>(() => new TorchTrainer(model, optimizer, TorchLoss.MeanSquaredError));
    }

    [CudaFact]
    public async Task Cuda_TrainEpoch_MatchesTheCpuWithinFloatTolerance()
    {
        var (cpu, cpuLosses) = await TrainClassifierAsync("pull", prefetchDepth: 1);
        var (cuda, cudaLosses) = await TrainClassifierAsync("pull", prefetchDepth: 2, TorchDevice.Cuda());

        for (var i = 0; i < cpu.Length; i++)
        {
            Assert.Equal(cpu[i], cuda[i], 2);
        }

        Assert.Equal(cpuLosses.Length, cudaLosses.Length);
    }

    [CudaFact]
    public async Task Cuda_Prefetch_PageLocksThePooledBuffersAndCopiesEveryByte()
    {
        using var model = TorchModel.Mlp([4, 16, 3], seed: 1);
        model.To(TorchDevice.Cuda());
        using var optimizer = TorchOptimizer.Adam(model, 0.01);
        await using var trainer = new TorchTrainer(model, optimizer, TorchLoss.CrossEntropy, new TorchTrainerOptions { PrefetchDepth = 2 });
        await using var loader = TestData.Loader(TestData.Classification(1000), batchSize: 50, workers: 2, poolSize: 6);

        await trainer.TrainEpochAsync(loader);
        await trainer.TrainEpochAsync(loader);

        var stats = trainer.Statistics;
        Assert.InRange(stats.PinnedBuffers, 1, 12); // two tensors per pooled buffer, registered once each
        Assert.Equal(2 * 1000 * ((4 * sizeof(float)) + sizeof(long)), stats.BytesCopied);
        Assert.Equal(0, stats.HostHeld);
        Assert.Equal(40, stats.Steps);
    }

    [CudaFact]
    public async Task Cuda_SubscribeAndObservable_TrainLikeReadEpoch()
    {
        var (pull, _) = await TrainClassifierAsync("pull", prefetchDepth: 1, TorchDevice.Cuda());
        var (subscribe, _) = await TrainClassifierAsync("subscribe", prefetchDepth: 1, TorchDevice.Cuda());
        var (observable, _) = await TrainClassifierAsync("observable", prefetchDepth: 1, TorchDevice.Cuda());

        for (var i = 0; i < pull.Length; i++)
        {
            Assert.Equal(pull[i], subscribe[i], 4);
            Assert.Equal(pull[i], observable[i], 4);
        }
    }

    /// <summary>Trains a small classifier for three epochs through one of the feeds; returns a probe of the weights and the losses.</summary>
    private static async Task<(float[] Probe, double[] Losses)> TrainClassifierAsync(string feed, int prefetchDepth, TorchDevice? device = null)
    {
        using var model = TorchModel.Mlp([4, 16, 3], seed: 9);
        model.To(device ?? TorchDevice.Cpu);
        using var optimizer = TorchOptimizer.Adam(model, 0.01);
        await using var trainer = new TorchTrainer(model, optimizer, TorchLoss.CrossEntropy, new TorchTrainerOptions { PrefetchDepth = prefetchDepth });
        await using var loader = TestData.Loader(TestData.Classification(400), batchSize: 16, workers: 2, poolSize: 8);
        var losses = new List<double>();
        for (var epoch = 0; epoch < 3; epoch++)
        {
            switch (feed)
            {
                case "pull":
                    losses.Add((await trainer.TrainEpochAsync(loader)).MeanLoss);
                    break;
                case "subscribe":
                    await loader.ForEachAsync(trainer.OnBatchAsync);
                    losses.Add(trainer.Flush().MeanLoss);
                    break;
                case "observable":
                    losses.Add((await trainer.TrainAsync(loader.AsObservable())).MeanLoss);
                    break;
                default:
                    double sum = 0;
                    long count = 0;
                    await foreach (var batch in loader.ReadEpochAsync())
                    {
                        using (batch)
                        {
                            sum += trainer.TrainStep(batch) * (double)batch.Count;
                            count += batch.Count;
                        }
                    }

                    losses.Add(sum / count);
                    break;
            }
        }

        return (TestData.Probe(model, 4), [.. losses.Select(l => Math.Round(l, 5))]);
    }

    private static bool HasTag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string key, string value)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == key && Equals(tag.Value, value))
            {
                return true;
            }
        }

        return false;
    }
}
