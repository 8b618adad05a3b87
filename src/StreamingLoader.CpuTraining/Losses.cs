using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using StreamingLoader.Batching;

namespace StreamingLoader.CpuTraining;

/// <summary>
/// The losses of <see cref="LossKind"/> on a batch's top-layer outputs <c>top</c> ([n, outputs]): each returns the
/// sum of the samples' losses and, when <c>gradient</c> is given, writes the gradient of the batch's mean loss with
/// respect to those outputs into it.
/// </summary>
internal static class Losses
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double SoftmaxCrossEntropy(Batch batch, ReadOnlySpan<float> top, int n, int outSize, float[]? gradient, out int correct)
    {
        var lossSum = 0.0;
        correct = 0;
        var labels = batch.Labels.AsSpan<long>();
        for (var i = 0; i < n; i++)
        {
            var label = labels[i];
            if ((ulong)label >= (ulong)outSize)
            {
                var index = batch.SampleIndices[i];
                throw new InvalidDataException($"Sample {index} has class label {label}, outside the model's {outSize} classes [0, {outSize}).");
            }

            var logits = top.Slice(i * outSize, outSize);
            var max = TensorPrimitives.Max(logits);
            if (TensorPrimitives.IndexOfMax(logits) == label)
            {
                correct++;
            }

            // Cross-entropy: log Σ exp(z − max) − (z_label − max).
            var probabilities = gradient is null ? default : gradient.AsSpan(i * outSize, outSize);
            double sum;
            if (gradient is null)
            {
                sum = 0;
                foreach (var z in logits)
                {
                    sum += Math.Exp(z - max);
                }
            }
            else
            {
                TensorPrimitives.Subtract(logits, max, probabilities);
                TensorPrimitives.Exp(probabilities, probabilities);
                sum = TensorPrimitives.Sum(probabilities);
            }

            lossSum += Math.Log(sum) - (logits[(int)label] - max);
            if (gradient is not null)
            {
                // d(mean loss)/dz = (softmax(z) − onehot(label)) / n.
                TensorPrimitives.Multiply(probabilities, (float)(1.0 / (sum * n)), probabilities);
                probabilities[(int)label] -= 1f / n;
            }
        }

        return lossSum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double MeanSquaredError(Batch batch, ReadOnlySpan<float> top, int n, int outSize, float[]? gradient)
    {
        var lossSum = 0.0;
        var targets = batch.Labels.AsSpan<float>();
        var elements = n * outSize;
        for (var i = 0; i < elements; i++)
        {
            var error = (double)top[i] - targets[i];
            lossSum += error * error;
            if (gradient is not null)
            {
                // d(mean over n·outputs of e²)/dz = 2e / (n·outputs).
                gradient[i] = (float)(2.0 * error / elements);
            }
        }

        // Per-sample loss is the mean over its outputs, so LossSum / n is PyTorch's MSELoss.
        return lossSum / outSize;
    }

    /// <summary>Writes softmax(<paramref name="logits"/>) into <paramref name="destination"/>.</summary>
    public static void Softmax(ReadOnlySpan<float> logits, Span<float> destination)
    {
        var max = TensorPrimitives.Max(logits);
        var probabilities = destination[..logits.Length];
        TensorPrimitives.Subtract(logits, max, probabilities);
        TensorPrimitives.Exp(probabilities, probabilities);
        TensorPrimitives.Divide(probabilities, TensorPrimitives.Sum(probabilities), probabilities);
    }
}
