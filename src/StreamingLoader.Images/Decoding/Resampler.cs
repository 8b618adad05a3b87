using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using StreamingLoader.Images.Geometry;

namespace StreamingLoader.Images.Decoding;

/// <summary>
/// Resamples the planned box of a decoded image to the planned output window and writes it as normalized CHW floats:
/// PIL's separable bilinear filter (widened by the scale factor when shrinking, which is its antialiasing), computed in
/// floats for exactly the output pixels the window keeps.
/// </summary>
/// <remarks>
/// The horizontal pass gathers each output element's taps from the source row (AVX2 gathers, 8 at a time) and writes
/// planar rows already in output column order, flip included; the vertical pass is then a weighted sum of whole
/// rows per channel, with the normalization folded into its weights, written straight into the destination.
/// </remarks>
internal static class Resampler
{
    /// <summary>Resamples and writes <c>pixel × multiply[c] + add[c]</c> into <paramref name="destination"/> [C, H, W].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Run(Workspace workspace, in DecodedImage image, in GeometryPlan plan, ReadOnlySpan<float> multiply, ReadOnlySpan<float> add, Span<float> destination)
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

        // Columns of the destination the valid outputs land in; mirrored, the window's last valid column comes first.
        var firstColumn = plan.Flip ? width - jEnd : jStart;
        var rowLength = validWidth * channels;
        var boxWidth = hiX - loX;
        var firstRow = workspace.YStarts[0];

        // Horizontal rows live in a ring just deep enough for one output row's taps: they are made as the vertical pass
        // first needs them, so the working set stays in cache.
        var ring = 1;
        for (var i = 0; i < validHeight; i++)
        {
            ring = Math.Max(ring, workspace.YCounts[i]);
        }

        var rows = workspace.EnsureRows(ring * rowLength);
        var pixels = workspace.Pixels;
        var sourceStride = image.Width * channels;
        var permute = HorizontalPass.TryPrepare(workspace, validWidth, xTaps, plan.Flip, out var taps);
        var planeStride = boxWidth + HorizontalPass.Slack(taps);
        if (permute)
        {
            workspace.EnsurePermute(validWidth, taps, planeStride * channels);
            for (var c = 0; c < channels; c++)
            {
                workspace.Planes.AsSpan((c * planeStride) + boxWidth, planeStride - boxWidth).Clear();
            }
        }
        else
        {
            var slack = xTaps * channels;
            workspace.EnsureGather(rowLength, xTaps, (boxWidth * channels) + slack);
            workspace.SourceRow.AsSpan(boxWidth * channels, slack).Clear();
            taps = PrepareGather(workspace, validWidth, channels, xTaps, plan.Flip);
        }

        Span<float> scaled = stackalloc float[yTaps];
        Span<nint> tapRows = stackalloc nint[yTaps];
        var next = 0;
        fixed (float* planes = workspace.Planes)
        fixed (float* output = rows)
        {
            for (var i = 0; i < validHeight; i++)
            {
                var start = workspace.YStarts[i] - firstRow;
                var count = workspace.YCounts[i];
                for (; next < start + count; next++)
                {
                    var source = pixels.Slice(((loY + firstRow + next) * sourceStride) + (loX * channels), boxWidth * channels);
                    var target = output + ((next % ring) * rowLength);
                    if (permute)
                    {
                        HorizontalPass.Deinterleave(source, channels, boxWidth, workspace.Planes, planeStride);
                        for (var c = 0; c < channels; c++)
                        {
                            HorizontalPass.Run(planes + (c * planeStride), validWidth, taps, workspace.BlockBases, workspace.BlockOffsets, workspace.PlanarWeights, target + (c * validWidth));
                        }
                    }
                    else
                    {
                        TensorPrimitives.ConvertTruncating<byte, float>(source, workspace.SourceRow.AsSpan(0, source.Length));
                        Horizontal(workspace.SourceRow, workspace.GatherIndex, workspace.GatherWeights, taps, channels, new Span<float>(target, rowLength));
                    }
                }

                var weights = workspace.YWeights.AsSpan(i * yTaps, count);
                for (var c = 0; c < channels; c++)
                {
                    for (var k = 0; k < count; k++)
                    {
                        scaled[k] = weights[k] * multiply[c];
                        tapRows[k] = (nint)(output + (((start + k) % ring) * rowLength) + (c * validWidth));
                    }

                    var destinationRow = destination.Slice((c * plane) + ((iStart + i) * width) + firstColumn, validWidth);
                    Vertical(tapRows[..count], scaled[..count], add[c], destinationRow);
                }
            }
        }
    }

    /// <summary>
    /// One output row of one channel: <c>target[x] = add + Σₖ weights[k] × rows[k][x]</c>, the taps summed in registers
    /// (one pass over the output instead of one per tap).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Vertical(ReadOnlySpan<nint> rows, ReadOnlySpan<float> weights, float add, Span<float> target)
    {
        var n = target.Length;
        var count = weights.Length;
        var x = 0;
        fixed (nint* source = rows)
        fixed (float* w = weights)
        fixed (float* dst = target)
        {
            if (Vector256.IsHardwareAccelerated)
            {
                var offset = Vector256.Create(add);
                for (; x + 8 <= n; x += 8)
                {
                    var sum = offset;
                    for (var k = 0; k < count; k++)
                    {
                        sum = Vector256.FusedMultiplyAdd(Vector256.Load((float*)source[k] + x), Vector256.Create(w[k]), sum);
                    }

                    sum.Store(dst + x);
                }
            }

            for (; x < n; x++)
            {
                var sum = add;
                for (var k = 0; k < count; k++)
                {
                    sum += ((float*)source[k])[x] * w[k];
                }

                dst[x] = sum;
            }
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

    /// <summary>
    /// Lays the horizontal coefficients out per output element, planar (element c × validWidth + q) and in destination
    /// order: element e's tap k reads source float GatherIndex[e] + k × channels with weight GatherWeights[k × n + e].
    /// Returns the number of taps (the longest filter; shorter ones are padded with zero weights).
    /// </summary>
    private static int PrepareGather(Workspace workspace, int validWidth, int channels, int xTaps, bool flip)
    {
        var taps = 1;
        for (var o = 0; o < validWidth; o++)
        {
            taps = Math.Max(taps, workspace.XCounts[o]);
        }

        var n = validWidth * channels;
        var index = workspace.GatherIndex;
        var weights = workspace.GatherWeights;
        for (var q = 0; q < validWidth; q++)
        {
            var o = flip ? validWidth - 1 - q : q;
            var count = workspace.XCounts[o];
            for (var c = 0; c < channels; c++)
            {
                var e = (c * validWidth) + q;
                index[e] = (workspace.XStarts[o] * channels) + c;
                for (var k = 0; k < taps; k++)
                {
                    weights[(k * n) + e] = k < count ? workspace.XWeights[(o * xTaps) + k] : 0f;
                }
            }
        }

        return taps;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Horizontal(float[] source, int[] index, float[] weights, int taps, int channels, Span<float> target)
    {
        var n = target.Length;
        var e = 0;
        fixed (float* src = source)
        fixed (int* idx = index)
        fixed (float* w = weights)
        fixed (float* dst = target)
        {
            if (Avx2.IsSupported)
            {
                var step = Vector256.Create(channels);
                for (; e + 8 <= n; e += 8)
                {
                    var baseIndex = Avx.LoadVector256(idx + e);
                    var sum = Vector256<float>.Zero;
                    for (var k = 0; k < taps; k++)
                    {
                        // Padded taps (zero weight) may point past the row's end: SourceRow has zeroed slack there.
                        var values = Avx2.GatherVector256(src, baseIndex, 4);
                        sum = Fma.IsSupported ? Fma.MultiplyAdd(values, Avx.LoadVector256(w + (k * n) + e), sum) : Avx.Add(sum, Avx.Multiply(values, Avx.LoadVector256(w + (k * n) + e)));
                        baseIndex = Avx2.Add(baseIndex, step);
                    }

                    Avx.Store(dst + e, sum);
                }
            }

            for (; e < n; e++)
            {
                float sum = 0;
                var p = idx[e];
                for (var k = 0; k < taps; k++, p += channels)
                {
                    sum += src[p] * w[(k * n) + e];
                }

                dst[e] = sum;
            }
        }
    }
}
