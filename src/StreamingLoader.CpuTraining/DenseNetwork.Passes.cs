using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using StreamingLoader.Batching;
using StreamingLoader.Internal;

namespace StreamingLoader.CpuTraining;

/// <summary>The network's passes over a batch: forward through the layers, the loss and its gradient, and back with the SGD step.</summary>
internal sealed partial class DenseNetwork
{
    private void EnsureCapacity(int n)
    {
        if (n <= _capacity)
        {
            return;
        }

        _activations = new float[Layers][];
        for (var l = 0; l < Layers; l++)
        {
            _activations[l] = new float[(long)n * _sizes[l + 1]];
        }

        _gradient = new float[(long)n * _maxWidth];
        _gradientBelow = new float[(long)n * _maxWidth];
        _capacity = n;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Forward(ReadOnlySpan<float> features, int n)
    {
        EnsureCapacity(n);
        var input = features;
        for (var l = 0; l < Layers; l++)
        {
            int inSize = _sizes[l], outSize = _sizes[l + 1];
            var weights = _parameters.AsSpan(_weightOffsets[l], inSize * outSize);
            var bias = _parameters.AsSpan(_biasOffsets[l], outSize);
            var output = _activations[l].AsSpan(0, n * outSize);
            for (var i = 0; i < n; i++)
            {
                var x = input.Slice(i * inSize, inSize);
                var z = output.Slice(i * outSize, outSize);
                for (var o = 0; o < outSize; o++)
                {
                    z[o] = TensorPrimitives.Dot(x, weights.Slice(o * inSize, inSize));
                }

                TensorPrimitives.Add(z, bias, z);
            }

            if (l < Layers - 1)
            {
                TensorPrimitives.Max(output, 0f, output); // ReLU
            }

            input = output;
        }
    }

    /// <summary>
    /// Returns the sum of the samples' losses and, when <paramref name="gradient"/> is given, writes the gradient of
    /// the batch's mean loss with respect to the top layer's outputs into it.
    /// </summary>
    private double LossAndGradient(Batch batch, int n, float[]? gradient, out int correct)
    {
        var top = _activations[^1].AsSpan(0, n * OutputSize);
        if (_loss == LossKind.SoftmaxCrossEntropy)
        {
            return Losses.SoftmaxCrossEntropy(batch, top, n, OutputSize, gradient, out correct);
        }

        correct = 0;
        return Losses.MeanSquaredError(batch, top, n, OutputSize, gradient);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Backward(ReadOnlySpan<float> features, int n)
    {
        var learningRate = _learningRate;
        for (var l = Layers - 1; l >= 0; l--)
        {
            int inSize = _sizes[l], outSize = _sizes[l + 1];
            var weights = _parameters.AsSpan(_weightOffsets[l], inSize * outSize);
            var bias = _parameters.AsSpan(_biasOffsets[l], outSize);
            var input = l == 0 ? features : _activations[l - 1].AsSpan(0, n * inSize);
            var gradient = _gradient.AsSpan(0, n * outSize);

            // The gradient for the layer below, with the weights before this step's update.
            if (l > 0)
            {
                var below = _gradientBelow.AsSpan(0, n * inSize);
                below.Clear();
                for (var i = 0; i < n; i++)
                {
                    var dz = gradient.Slice(i * outSize, outSize);
                    var dx = below.Slice(i * inSize, inSize);
                    for (var o = 0; o < outSize; o++)
                    {
                        if (dz[o] != 0f)
                        {
                            TensorPrimitives.MultiplyAdd(weights.Slice(o * inSize, inSize), dz[o], dx, dx);
                        }
                    }

                    // Through the ReLU: no gradient where its output was 0.
                    var x = input.Slice(i * inSize, inSize);
                    for (var k = 0; k < inSize; k++)
                    {
                        if (x[k] <= 0f)
                        {
                            dx[k] = 0f;
                        }
                    }
                }
            }

            // SGD: W[o] −= lr · Σᵢ dz[i, o] · x[i];  b −= lr · Σᵢ dz[i].
            for (var i = 0; i < n; i++)
            {
                var dz = gradient.Slice(i * outSize, outSize);
                var x = input.Slice(i * inSize, inSize);
                for (var o = 0; o < outSize; o++)
                {
                    var step = -learningRate * dz[o];
                    if (step != 0f)
                    {
                        var row = weights.Slice(o * inSize, inSize);
                        TensorPrimitives.MultiplyAdd(x, step, row, row);
                    }
                }

                TensorPrimitives.MultiplyAdd(dz, -learningRate, bias, bias);
            }

            (_gradient, _gradientBelow) = (_gradientBelow, _gradient);
        }
    }
}
