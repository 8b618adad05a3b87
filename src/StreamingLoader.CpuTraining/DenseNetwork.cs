using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using StreamingLoader.Batching;
using StreamingLoader.Internal;

namespace StreamingLoader.CpuTraining;

/// <summary>
/// Fully connected layers with ReLU between them and a loss on top, trained by SGD. Softmax regression, linear
/// regression and the MLP are all this class with different layer sizes and losses.
/// </summary>
/// <remarks>
/// Each layer computes <c>z = x·Wᵀ + b</c> with <c>W</c> stored [out, in] row-major (PyTorch's layout), so the forward
/// pass and the backward pass are dot products and axpys over contiguous rows, done with
/// <see cref="TensorPrimitives"/>. The SGD update is fused into the backward pass: once a layer's input gradient is
/// computed with the old weights, each weight row moves by <c>−lr · Σᵢ dzᵢ · xᵢ</c> in place.
/// </remarks>
internal sealed partial class DenseNetwork : ICpuModel
{
    private const ulong InitStream = 0x494E4954; // "INIT": parameter initialization draws, apart from the loader's streams.

    private readonly int[] _sizes;
    private readonly int[] _weightOffsets;
    private readonly int[] _biasOffsets;
    private readonly float[] _parameters;
    private readonly LossKind _loss;
    private readonly int _maxWidth;
    private float _learningRate;

    // Scratch, sized for _capacity samples: the output of every layer (after ReLU for hidden layers), and two
    // gradient buffers used in turn going down the layers.
    private float[][] _activations = [];
    private float[] _gradient = [];
    private float[] _gradientBelow = [];
    private int _capacity;

    public DenseNetwork(IReadOnlyList<int> sizes, LossKind loss, float learningRate, ulong seed)
    {
        _sizes = [.. sizes];
        _loss = loss;
        LearningRate = learningRate;
        var layers = _sizes.Length - 1;
        _weightOffsets = new int[layers];
        _biasOffsets = new int[layers];
        long total = 0;
        for (var l = 0; l < layers; l++)
        {
            _weightOffsets[l] = (int)total;
            total += (long)_sizes[l] * _sizes[l + 1];
            _biasOffsets[l] = (int)total;
            total += _sizes[l + 1];
            if (total > Array.MaxLength)
            {
                throw new ArgumentOutOfRangeException(nameof(sizes), $"Layer sizes {Shapes.Format(_sizes)} need more than {Array.MaxLength} parameters.");
            }
        }

        _parameters = new float[total];
        _maxWidth = _sizes.Max();
        Initialize(seed);
    }

    public int InputSize => _sizes[0];

    public int OutputSize => _sizes[^1];

    public int ParameterCount => _parameters.Length;

    public float LearningRate
    {
        get => _learningRate;
        set
        {
            if (!float.IsFinite(value) || value <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "The learning rate must be a positive finite number.");
            }

            _learningRate = value;
        }
    }

    private int Layers => _sizes.Length - 1;

    public float TrainStep(Batch batch)
    {
        var n = Validate(batch);
        if (n == 0)
        {
            return 0f;
        }

        var features = batch.Features.AsSpan<float>();
        Forward(features, n);
        var lossSum = LossAndGradient(batch, n, _gradient, out _);
        Backward(features, n);
        return (float)(lossSum / n);
    }

    public BatchEvaluation Evaluate(Batch batch)
    {
        var n = Validate(batch);
        if (n == 0)
        {
            return default;
        }

        Forward(batch.Features.AsSpan<float>(), n);
        var lossSum = LossAndGradient(batch, n, null, out var correct);
        return new BatchEvaluation(lossSum, correct, n);
    }

    public void Predict(ReadOnlySpan<float> features, Span<float> outputs)
    {
        if (features.Length != InputSize)
        {
            throw new ArgumentException($"The model takes {InputSize} feature values; {features.Length} were given.", nameof(features));
        }

        if (outputs.Length < OutputSize)
        {
            throw new ArgumentException($"The model has {OutputSize} outputs; the destination holds {outputs.Length}.", nameof(outputs));
        }

        Forward(features, 1);
        var top = _activations[^1].AsSpan(0, OutputSize);
        if (_loss == LossKind.SoftmaxCrossEntropy)
        {
            Losses.Softmax(top, outputs);
        }
        else
        {
            top.CopyTo(outputs);
        }
    }

    public void CopyParametersTo(Span<float> destination)
    {
        if (destination.Length < _parameters.Length)
        {
            throw new ArgumentException($"The model has {_parameters.Length} parameters; the destination holds {destination.Length}.", nameof(destination));
        }

        _parameters.CopyTo(destination);
    }

    public void LoadParameters(ReadOnlySpan<float> source)
    {
        if (source.Length != _parameters.Length)
        {
            throw new ArgumentException($"The model has {_parameters.Length} parameters; {source.Length} were given.", nameof(source));
        }

        source.CopyTo(_parameters);
    }

    public override string ToString() =>
        $"{(_loss == LossKind.SoftmaxCrossEntropy ? "classifier" : "regression")} {string.Join("→", _sizes)}, {_parameters.Length} parameters, lr {_learningRate}";

    /// <summary>PyTorch's <c>nn.Linear</c> initialization: weights and biases uniform in ±1/√fan_in.</summary>
    private void Initialize(ulong seed)
    {
        for (var l = 0; l < Layers; l++)
        {
            var random = new CounterRandom(seed, l, 0, InitStream);
            var bound = 1f / MathF.Sqrt(_sizes[l]);
            var layer = _parameters.AsSpan(_weightOffsets[l], (_sizes[l] * _sizes[l + 1]) + _sizes[l + 1]);
            for (var i = 0; i < layer.Length; i++)
            {
                layer[i] = ((2f * random.NextSingle()) - 1f) * bound;
            }
        }
    }

    /// <summary>Checks that the batch fits the model, sizes the scratch buffers and returns the sample count.</summary>
    private int Validate(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var features = batch.Features.Spec;
        var labels = batch.Labels.Spec;
        if (features.ElementType != ElementType.Float32)
        {
            throw new ArgumentException(
                $"The model takes Float32 features; the batch holds {features.ElementType}{Shapes.Format(features.Shape)} (collate bytes with Collate.BytesToFloat).",
                nameof(batch));
        }

        if (features.ElementsPerStep != InputSize)
        {
            throw new ArgumentException(
                $"The model takes {InputSize} feature values per sample; the batch's samples have {features.ElementsPerStep} (shape {Shapes.Format(features.Shape)}).",
                nameof(batch));
        }

        if (_loss == LossKind.SoftmaxCrossEntropy)
        {
            if (labels.ElementType != ElementType.Int64 || labels.ElementsPerStep != 1)
            {
                throw new ArgumentException(
                    $"A classifier takes one Int64 class index per sample; the batch's labels are {labels.ElementType}{Shapes.Format(labels.Shape)}.",
                    nameof(batch));
            }
        }
        else if (labels.ElementType != ElementType.Float32 || labels.ElementsPerStep != OutputSize)
        {
            throw new ArgumentException(
                $"A regression with {OutputSize} output(s) takes {OutputSize} Float32 target(s) per sample; the batch's labels are {labels.ElementType}{Shapes.Format(labels.Shape)}.",
                nameof(batch));
        }

        var n = batch.Count;
        EnsureCapacity(n);
        return n;
    }
}
