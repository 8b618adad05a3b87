namespace StreamingLoader.CpuTraining;

/// <summary>The loss on a <see cref="DenseNetwork"/>'s last layer.</summary>
internal enum LossKind
{
    /// <summary>Softmax then cross-entropy against Int64 class labels (PyTorch's <c>nn.CrossEntropyLoss</c>).</summary>
    SoftmaxCrossEntropy,

    /// <summary>Mean squared error against Float32 targets (PyTorch's <c>nn.MSELoss</c>, mean over every element).</summary>
    MeanSquaredError,
}
