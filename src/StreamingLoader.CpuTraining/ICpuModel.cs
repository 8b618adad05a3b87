using StreamingLoader.Batching;

namespace StreamingLoader.CpuTraining;

/// <summary>
/// A small model trained on the CPU with plain SGD, straight from a loader's batches: the managed consumer that lets
/// samples and demos train with nothing but the .NET SDK (the seeds' <c>model</c>, <c>criterion</c> and
/// <c>optimizer</c> in one object). Create one with <see cref="CpuModels"/>.
/// </summary>
/// <remarks>
/// <para>
/// Features must be <see cref="ElementType.Float32"/> of any shape whose element count is the model's
/// <see cref="InputSize"/> (an image [1, 28, 28] is read as 784 values). Classification models take
/// <see cref="ElementType.Int64"/> labels of shape [n] holding class indices; regression models take
/// <see cref="ElementType.Float32"/> labels of shape [n, outputs] (or [n] with one output).
/// </para>
/// <para>
/// A model is not thread-safe: one consumer trains it at a time, as one loop does in PyTorch. A step allocates
/// nothing once the model has seen a batch of the largest size (its scratch buffers grow to the largest batch).
/// Results are deterministic for a seed on a given machine.
/// </para>
/// </remarks>
public interface ICpuModel
{
    /// <summary>Gets the number of feature values one sample has.</summary>
    int InputSize { get; }

    /// <summary>Gets the number of outputs: classes for a classifier, targets for a regression.</summary>
    int OutputSize { get; }

    /// <summary>Gets or sets the SGD learning rate (step size); a positive finite number.</summary>
    float LearningRate { get; set; }

    /// <summary>
    /// Gets the number of trainable parameters: for each layer, its weights [out, in] row-major then its bias [out],
    /// in the order of PyTorch's <c>nn.Linear</c> state dict.
    /// </summary>
    int ParameterCount { get; }

    /// <summary>
    /// Runs one SGD step on the batch (forward, loss, backward, update: the seeds'
    /// <c>optimizer.zero_grad(); cost.backward(); optimizer.step()</c>) and returns the batch's mean loss before the update.
    /// </summary>
    /// <exception cref="ArgumentException">The batch's features or labels do not fit the model.</exception>
    /// <exception cref="InvalidDataException">A class label is outside [0, <see cref="OutputSize"/>).</exception>
    float TrainStep(Batch batch);

    /// <summary>Computes the batch's loss and, for a classifier, how many samples it classifies correctly; no update.</summary>
    /// <exception cref="ArgumentException">The batch's features or labels do not fit the model.</exception>
    /// <exception cref="InvalidDataException">A class label is outside [0, <see cref="OutputSize"/>).</exception>
    BatchEvaluation Evaluate(Batch batch);

    /// <summary>
    /// Computes the outputs for one sample (PyTorch's <c>model(x)</c>): the predictions of a regression, or the class
    /// probabilities (softmax) of a classifier.
    /// </summary>
    /// <param name="features">The sample's <see cref="InputSize"/> feature values.</param>
    /// <param name="outputs">Receives <see cref="OutputSize"/> values.</param>
    void Predict(ReadOnlySpan<float> features, Span<float> outputs);

    /// <summary>Copies the parameters (layout in <see cref="ParameterCount"/>) to <paramref name="destination"/>.</summary>
    void CopyParametersTo(Span<float> destination);

    /// <summary>Replaces the parameters (layout in <see cref="ParameterCount"/>) with <paramref name="source"/>.</summary>
    void LoadParameters(ReadOnlySpan<float> source);
}
