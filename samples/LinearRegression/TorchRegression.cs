using StreamingLoader.TorchSharp;
using TorchSharp;
using static TorchSharp.torch;
using StreamingLoader.Batching;

namespace StreamingLoader.Samples.LinearRegression;

/// <summary>
/// The tutorial's <c>nn.Linear(3, 1)</c>, <c>F.mse_loss</c> and <c>torch.optim.SGD(lr=1e-5)</c> in TorchSharp: each batch
/// reaches libtorch through <see cref="TorchFeed"/> (no copy on the CPU) and is stepped at once, so the tutorial's
/// per-batch cost can be printed.
/// </summary>
internal sealed class TorchRegression : IRegressionModel, IDisposable
{
    private readonly TorchFeed _feed;
    private readonly nn.Module<Tensor, Tensor> _model;
    private readonly nn.Module<Tensor, Tensor, Tensor> _criterion = nn.MSELoss();
    private readonly optim.Optimizer _optimizer;

    public TorchRegression(LinearRegressionOptions options)
    {
        _feed = TorchFeed.Create(options.Device == "auto" ? null : new Device(options.Device));
        torch.manual_seed((long)options.Seed);

        // model = nn.Linear(3, 1); optimizer = torch.optim.SGD(model.parameters(), lr=1e-5)
        _model = nn.Linear(3, 1);
        _model.to(_feed.Device);
        _optimizer = optim.SGD(_model.parameters(), options.LearningRate);
        Description = $"TorchSharp (libtorch {torch.__version__}) on {_feed.Device}";
    }

    public string Description { get; }

    public float TrainStep(Batch batch)
    {
        using var staged = _feed.Stage(batch);
        using var cost = TorchEpochs.TrainStep(staged, _model, _criterion, _optimizer);
        return cost.item<float>();
    }

    public float Predict(float[] features)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return _model.call(tensor(features, [1, features.Length], device: _feed.Device)).item<float>();
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _criterion.Dispose();
        _model.Dispose();
        _feed.Dispose();
    }
}
