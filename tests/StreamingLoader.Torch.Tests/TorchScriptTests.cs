namespace StreamingLoader.Torch.Tests;

/// <summary>Modules scripted in PyTorch (Data/make_scripted_models.py) train here like the built-in models.</summary>
public class TorchScriptTests
{
    [Fact]
    public void LoadScript_ModuleScriptedInPyTorch_ExposesItsParameters()
    {
        using var model = TorchModel.LoadScript(TestData.DataFile("scripted_mlp.pt"));

        Assert.Equal("TorchScript", model.Kind);
        Assert.Equal((784 * 32) + 32 + (32 * 10) + 10, model.ParameterCount);
        Assert.Contains("ScriptedMlp", model.ToString());
        Assert.Equal(10, model.Predict(new float[784], [1, 1, 28, 28]).Length);
    }

    [Fact]
    public async Task LoadScript_TupleOutput_TrainingThrowsTorchExceptionNamingTheFile()
    {
        using var model = TorchModel.LoadScript(TestData.DataFile("tuple_output.pt"));
        using var optimizer = TorchOptimizer.Sgd(model, 0.1);
        await using var trainer = new TorchTrainer(model, optimizer, TorchLoss.CrossEntropy);
        await using var loader = TestData.Loader(TestData.Classification(20), batchSize: 5);

        var error = await Assert.ThrowsAsync<TorchException>(() => trainer.TrainEpochAsync(loader));

        Assert.Contains("tuple_output.pt", error.Message);
        Assert.Contains("one tensor", error.Message);
        Assert.Equal(0, trainer.Statistics.HostHeld);
    }

    [Fact]
    public async Task TrainEpochAsync_ScriptedModule_LearnsAndSwitchesModes()
    {
        using var model = TorchModel.LoadScript(TestData.DataFile("scripted_mlp.pt"));
        using var optimizer = TorchOptimizer.Sgd(model, 0.05, momentum: 0.9);
        await using var trainer = new TorchTrainer(model, optimizer, TorchLoss.CrossEntropy);
        await using var train = TestData.FashionLoader(train: false, batchSize: 50, seed: 1);

        var first = await trainer.TrainEpochAsync(train);
        Assert.True(model.IsTraining);
        var second = await trainer.TrainEpochAsync(train);
        var evaluation = await trainer.EvaluateAsync(train);

        Assert.False(model.IsTraining);
        Assert.True(second.MeanLoss < first.MeanLoss, $"Losses: {first.MeanLoss}, then {second.MeanLoss}.");
        Assert.True(evaluation.Accuracy > 0.8, $"Accuracy on the data it trained on: {evaluation.Accuracy}.");
    }
}
