namespace StreamingLoader.Torch;

/// <summary>The loss a <see cref="TorchTrainer"/> minimizes.</summary>
public enum TorchLoss
{
    /// <summary>
    /// Mean squared error over every output (<c>F.mse_loss</c>): labels are targets of the outputs' shape ([n] is
    /// accepted for one output), converted to Float32.
    /// </summary>
    MeanSquaredError = 0,

    /// <summary>
    /// Softmax cross-entropy (<c>F.cross_entropy</c>): labels are integer class indices [n]; evaluation also counts
    /// correct predictions (arg-max of the outputs).
    /// </summary>
    CrossEntropy = 1,
}
