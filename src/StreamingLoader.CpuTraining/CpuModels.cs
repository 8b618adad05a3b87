using StreamingLoader.Internal;

namespace StreamingLoader.CpuTraining;

/// <summary>
/// Factories for the managed CPU models: PyTorch's <c>nn.Linear</c> stacks with their usual losses, trained by SGD.
/// Parameters are initialized as <c>nn.Linear</c> does (uniform in ±1/√fan_in) from draws keyed on the factory's <c>seed</c>.
/// </summary>
/// <example>
/// <code>
/// var model = CpuModels.SoftmaxRegression(features: 784, classes: 10, learningRate: 0.1f, seed: 42);
/// for (var epoch = 0; epoch &lt; 5; epoch++)
/// {
///     var train = await model.TrainEpochAsync(trainLoader);
///     var test = await model.EvaluateAsync(testLoader);
///     Console.WriteLine($"epoch {epoch}: loss {train.MeanLoss:F4}, test accuracy {test.Accuracy:P2}");
/// }
/// </code>
/// </example>
public static class CpuModels
{
    /// <summary>
    /// Multinomial logistic regression: one linear layer <paramref name="features"/> → <paramref name="classes"/> with
    /// softmax cross-entropy (<c>nn.Linear</c> + <c>nn.CrossEntropyLoss</c>). Labels: Int64 class indices [n].
    /// </summary>
    public static ICpuModel SoftmaxRegression(int features, int classes, float learningRate, ulong seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(features);
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 2);
        return new DenseNetwork([features, classes], LossKind.SoftmaxCrossEntropy, learningRate, seed);
    }

    /// <summary>
    /// Linear regression: one linear layer <paramref name="features"/> → <paramref name="outputs"/> with mean squared
    /// error (<c>nn.Linear</c> + <c>F.mse_loss</c>). Labels: Float32 targets [n, outputs], or [n] with one output.
    /// </summary>
    public static ICpuModel LinearRegression(int features, int outputs, float learningRate, ulong seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(features);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outputs);
        return new DenseNetwork([features, outputs], LossKind.MeanSquaredError, learningRate, seed);
    }

    /// <summary>
    /// A multilayer perceptron classifier: linear layers of the given sizes with ReLU between them and softmax
    /// cross-entropy on the last. Labels: Int64 class indices [n].
    /// </summary>
    /// <param name="layerSizes">[inputs, hidden₁, …, classes]: at least an input size and a class count.</param>
    /// <param name="learningRate">The SGD step size.</param>
    /// <param name="seed">Keys the parameter initialization.</param>
    public static ICpuModel Mlp(IReadOnlyList<int> layerSizes, float learningRate, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(layerSizes);
        if (layerSizes.Count < 2)
        {
            throw new ArgumentException($"An MLP needs at least an input size and a class count; {Shapes.Format(layerSizes)} was given.", nameof(layerSizes));
        }

        for (var i = 0; i < layerSizes.Count; i++)
        {
            if (layerSizes[i] <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(layerSizes), $"Layer sizes must be positive; {Shapes.Format(layerSizes)} was given.");
            }
        }

        if (layerSizes[^1] < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(layerSizes), $"A classifier needs at least 2 classes; {Shapes.Format(layerSizes)} was given.");
        }

        return new DenseNetwork(layerSizes, LossKind.SoftmaxCrossEntropy, learningRate, seed);
    }
}
