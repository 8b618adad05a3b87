using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using StreamingLoader.Images.Geometry;

namespace StreamingLoader.Images.Decoding;

/// <summary>
/// Resamples the planned box of a decoded image to the planned output window and writes it as normalized CHW floats:
/// PIL's separable bilinear filter (widened by the scale factor when shrinking, which is its antialiasing), computed in
/// floats for exactly the output pixels the window keeps.
/// </summary>
internal static class Resampler
{
    /// <summary>Resamples and writes <c>pixel × multiply[c] + add[c]</c> into <paramref name="destination"/> [C, H, W].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(Workspace workspace, in DecodedImage image, in GeometryPlan plan, ReadOnlySpan<float> multiply, ReadOnlySpan<float> add, Span<float> destination)
    {
        var channels = image.Channels;
        var (width, height) = (plan.Width, plan.Height);
        var plane = width * height;
        if (!plan.IsInside)
        {
            // Padding is black: pixel value 0 after normalization.
            for (var c = 0; c < channels; c++)
            {
                destination.Slice(c * plane, plane).Fill(add[c]);
            }
        }

        var jStart = Math.Max(0, -plan.WindowX);
        var jEnd = Math.Min(width, plan.ResizedWidth - plan.WindowX);
        var iStart = Math.Max(0, -plan.WindowY);
        var iEnd = Math.Min(height, plan.ResizedHeight - plan.WindowY);
        if (jEnd <= jStart || iEnd <= iStart)
        {
            return;
        }

        var (validWidth, validHeight) = (jEnd - jStart, iEnd - iStart);

        // The box in decoded pixels; at full scale exactly the integer crop torchvision makes.
        var x0 = plan.BoxX * image.ScaleX;
        var x1 = (plan.BoxX + plan.BoxWidth) * image.ScaleX;
        var y0 = plan.BoxY * image.ScaleY;
        var y1 = (plan.BoxY + plan.BoxHeight) * image.ScaleY;
        var loX = (int)Math.Floor(x0);
        var hiX = Math.Min(image.Width, (int)Math.Ceiling(x1 - 1e-9));
        var loY = (int)Math.Floor(y0);
        var hiY = Math.Min(image.Height, (int)Math.Ceiling(y1 - 1e-9));

        var xTaps = Taps(x1 - x0, plan.ResizedWidth);
        var yTaps = Taps(y1 - y0, plan.ResizedHeight);
        workspace.EnsureCoefficients(validWidth, validHeight, xTaps, yTaps);
        Coefficients(x0 - loX, x1 - loX, hiX - loX, plan.ResizedWidth, plan.WindowX + jStart, validWidth, xTaps, workspace.XStarts, workspace.XCounts, workspace.XWeights);
        Coefficients(y0 - loY, y1 - loY, hiY - loY, plan.ResizedHeight, plan.WindowY + iStart, validHeight, yTaps, workspace.YStarts, workspace.YCounts, workspace.YWeights);

        var firstRow = workspace.YStarts[0];
        var rowCount = workspace.YStarts[validHeight - 1] + workspace.YCounts[validHeight - 1] - firstRow;
        var rowLength = validWidth * channels;
        var rows = workspace.EnsureRows(rowCount * rowLength);
        var pixels = workspace.Pixels;
        var sourceStride = image.Width * channels;
        for (var r = 0; r < rowCount; r++)
        {
            var source = pixels.AsSpan(((loY + firstRow + r) * sourceStride) + (loX * channels), (hiX - loX) * channels);
            var target = rows.AsSpan(r * rowLength, rowLength);
            if (channels == 3)
            {
                Horizontal3(source, target, validWidth, xTaps, workspace.XStarts, workspace.XCounts, workspace.XWeights);
            }
            else
            {
                Horizontal1(source, target, validWidth, xTaps, workspace.XStarts, workspace.XCounts, workspace.XWeights);
            }
        }

        var accumulator = workspace.EnsureAccumulator(rowLength).AsSpan(0, rowLength);
        for (var i = 0; i < validHeight; i++)
        {
            var start = workspace.YStarts[i] - firstRow;
            var count = workspace.YCounts[i];
            var weights = workspace.YWeights.AsSpan(i * yTaps, count);
            TensorPrimitives.Multiply(rows.AsSpan(start * rowLength, rowLength), weights[0], accumulator);
            for (var k = 1; k < count; k++)
            {
                TensorPrimitives.MultiplyAdd(rows.AsSpan((start + k) * rowLength, rowLength), weights[k], accumulator, accumulator);
            }

            WriteRow(accumulator, channels, destination, plane, (iStart + i) * width, jStart, validWidth, width, plan.Flip, multiply, add);
        }
    }

    /// <summary>The filter length PIL uses: ceil(support) × 2 + 1 with support 1 × max(scale, 1).</summary>
    private static int Taps(double inLength, int outSize) => ((int)Math.Ceiling(Math.Max(inLength / outSize, 1.0)) * 2) + 1;

    /// <summary>PIL's <c>precompute_coeffs</c> (bilinear) for outputs outStart … outStart + outCount − 1.</summary>
    private static void Coefficients(double in0, double in1, int inSize, int outSize, int outStart, int outCount, int taps, int[] starts, int[] counts, float[] weights)
    {
        var scale = (in1 - in0) / outSize;
        var filterScale = Math.Max(scale, 1.0);
        var support = filterScale;
        var inverse = 1.0 / filterScale;
        Span<double> k = stackalloc double[taps];
        for (var o = 0; o < outCount; o++)
        {
            var center = in0 + ((outStart + o + 0.5) * scale);
            var min = Math.Max(0, (int)(center - support + 0.5));
            var max = Math.Min(inSize, (int)(center + support + 0.5)) - min;
            max = Math.Clamp(max, 1, taps);
            min = Math.Min(min, inSize - max);
            double total = 0;
            for (var x = 0; x < max; x++)
            {
                var t = Math.Abs((x + min - center + 0.5) * inverse);
                k[x] = t < 1.0 ? 1.0 - t : 0.0;
                total += k[x];
            }

            for (var x = 0; x < max; x++)
            {
                weights[(o * taps) + x] = (float)(total != 0 ? k[x] / total : 1.0 / max);
            }

            starts[o] = min;
            counts[o] = max;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Horizontal3(ReadOnlySpan<byte> source, Span<float> target, int count, int taps, int[] starts, int[] counts, float[] weights)
    {
        for (var j = 0; j < count; j++)
        {
            var p = starts[j] * 3;
            var w = weights.AsSpan(j * taps, counts[j]);
            float r = 0, g = 0, b = 0;
            for (var k = 0; k < w.Length; k++, p += 3)
            {
                var wk = w[k];
                r += wk * source[p];
                g += wk * source[p + 1];
                b += wk * source[p + 2];
            }

            target[3 * j] = r;
            target[(3 * j) + 1] = g;
            target[(3 * j) + 2] = b;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Horizontal1(ReadOnlySpan<byte> source, Span<float> target, int count, int taps, int[] starts, int[] counts, float[] weights)
    {
        for (var j = 0; j < count; j++)
        {
            var p = starts[j];
            var w = weights.AsSpan(j * taps, counts[j]);
            float v = 0;
            for (var k = 0; k < w.Length; k++)
            {
                v += w[k] * source[p + k];
            }

            target[j] = v;
        }
    }

    /// <summary>
    /// Writes one interleaved row of valid output columns (from <paramref name="firstColumn"/>) into the channel planes,
    /// normalized, mirrored across the output width when <paramref name="flip"/> is set.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WriteRow(ReadOnlySpan<float> row, int channels, Span<float> destination, int plane, int rowBase, int firstColumn, int count, int width, bool flip, ReadOnlySpan<float> multiply, ReadOnlySpan<float> add)
    {
        for (var c = 0; c < channels; c++)
        {
            var m = multiply[c];
            var a = add[c];
            var target = destination.Slice((c * plane) + rowBase, width);
            if (!flip)
            {
                var part = target.Slice(firstColumn, count);
                for (var j = 0; j < part.Length; j++)
                {
                    part[j] = (row[(j * channels) + c] * m) + a;
                }
            }
            else
            {
                var last = width - 1 - firstColumn;
                for (var j = 0; j < count; j++)
                {
                    target[last - j] = (row[(j * channels) + c] * m) + a;
                }
            }
        }
    }
}
