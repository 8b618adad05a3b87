using StreamingLoader.Torch;

namespace StreamingLoader.Samples.LinearRegression;

/// <summary>
/// The tutorial's <c>nn.Linear(3, 1)</c>, <c>F.mse_loss</c> and <c>torch.optim.SGD(lr=1e-5)</c> in libtorch: each batch
/// is wrapped in place (no copy on the CPU; copied to a CUDA device when one is used) and stepped at once, so the
/// tutorial's per-batch cost can be printed.
/// </summary>
internal sealed class TorchRegression : IRegressionModel, IDisposable
{
    private readonly TorchModel _model;
    private readonly TorchOptimizer _optimizer;
    private readonly TorchTrainer _trainer;

    public TorchRegression(LinearRegressionOptions options)
    {
        var device = TorchDevice.Parse(options.Device);
        _model = TorchModel.Linear(inputs: 3, outputs: 1, seed: options.Seed);
        _model.To(device);
        _optimizer = TorchOptimizer.Sgd(_model, options.LearningRate);
        _trainer = new TorchTrainer(_model, _optimizer, TorchLoss.MeanSquaredError, new TorchTrainerOptions { PrefetchDepth = 0, Name = "linear-regression" });
        Description = $"libtorch {TorchRuntime.Version} on {device}";
    }

    public string Description { get; }

    public float TrainStep(Batch batch) => _trainer.TrainStep(batch);

    public float Predict(float[] features) => _model.Predict(features, [1, features.Length])[0];

    public void Dispose()
    {
        _trainer.Dispose();
        _optimizer.Dispose();
        _model.Dispose();
    }
}
