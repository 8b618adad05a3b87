using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace StreamingLoader.Images.Decoding;

/// <summary>
/// The horizontal pass of the resampler on planar source rows: each output reads a few consecutive source pixels, so
/// 8 outputs read within 16 floats of their block's first source pixel, and a tap is two loads, two in-register
/// permutes (<c>vpermps</c>) and a blend instead of a gather (gathers are slow on AMD processors).
/// </summary>
/// <remarks>Used when AVX2 is present and every block of 8 outputs spans at most 16 source pixels (scale below ~2).</remarks>
internal static class HorizontalPass
{
    /// <summary>The zeroed floats after each plane's pixels: the last block's loads read up to 16 + taps past its base.</summary>
    public static int Slack(int taps) => 16 + taps;

    /// <summary>
    /// Lays out the blocks for outputs in destination order (mirrored when <paramref name="flip"/>): each block's first
    /// source pixel, each output's offset from it, and per-tap weights. False when a block spans too far.
    /// </summary>
    public static bool TryPrepare(Workspace workspace, int validWidth, int xTaps, bool flip, out int taps)
    {
        taps = 1;
        if (!Avx2.IsSupported || !Ssse3.IsSupported)
        {
            return false;
        }

        for (var o = 0; o < validWidth; o++)
        {
            taps = Math.Max(taps, workspace.XCounts[o]);
        }

        var blocks = (validWidth + 7) / 8;
        var padded = blocks * 8;
        workspace.EnsurePermute(validWidth, taps, 0);
        for (var b = 0; b < blocks; b++)
        {
            var lo = int.MaxValue;
            var hi = int.MinValue;
            for (var q = b * 8; q < Math.Min(validWidth, (b * 8) + 8); q++)
            {
                var start = workspace.XStarts[flip ? validWidth - 1 - q : q];
                lo = Math.Min(lo, start);
                hi = Math.Max(hi, start);
            }

            if (hi - lo > 15)
            {
                return false;
            }

            workspace.BlockBases[b] = lo;
            for (var i = 0; i < 8; i++)
            {
                var q = (b * 8) + i;
                var o = flip ? validWidth - 1 - q : q;
                var inside = q < validWidth;
                workspace.BlockOffsets[q] = inside ? workspace.XStarts[o] - lo : 0;
                for (var k = 0; k < taps; k++)
                {
                    workspace.PlanarWeights[(k * padded) + q] = inside && k < workspace.XCounts[o] ? workspace.XWeights[(o * xTaps) + k] : 0f;
                }
            }
        }

        return true;
    }

    /// <summary>Splits a row of packed pixels into float planes (stride <paramref name="planeStride"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Deinterleave(ReadOnlySpan<byte> row, int channels, int pixels, float[] planes, int planeStride)
    {
        fixed (byte* src = row)
        fixed (float* dst = planes)
        {
            var x = 0;
            if (channels == 1)
            {
                for (; x + 8 <= pixels; x += 8)
                {
                    Avx.Store(dst + x, Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(src + x)));
                }

                for (; x < pixels; x++)
                {
                    dst[x] = src[x];
                }

                return;
            }

            var r = dst;
            var g = dst + planeStride;
            var b = dst + (2 * planeStride);

            // 16 pixels (48 bytes) a step: three byte shuffles gather each channel's 16 bytes.
            for (; x + 16 <= pixels && (3 * x) + 48 <= row.Length; x += 16)
            {
                var p = src + (3 * x);
                var v0 = Sse2.LoadVector128(p);
                var v1 = Sse2.LoadVector128(p + 16);
                var v2 = Sse2.LoadVector128(p + 32);
                Store(r + x, Channel(v0, v1, v2, s_r0, s_r1, s_r2));
                Store(g + x, Channel(v0, v1, v2, s_g0, s_g1, s_g2));
                Store(b + x, Channel(v0, v1, v2, s_b0, s_b1, s_b2));
            }

            for (; x < pixels; x++)
            {
                r[x] = src[3 * x];
                g[x] = src[(3 * x) + 1];
                b[x] = src[(3 * x) + 2];
            }
        }
    }

    /// <summary>One output row of one plane: <c>target[q] = Σₖ w[k][q] × plane[base(q) + offset(q) + k]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Run(float* plane, int validWidth, int taps, int[] bases, int[] offsets, float[] weights, float* target)
    {
        var padded = ((validWidth + 7) / 8) * 8;
        var full = validWidth / 8;
        fixed (int* offset = offsets)
        fixed (float* w = weights)
        {
            for (var b = 0; b < full; b++)
            {
                var index = Avx.LoadVector256(offset + (b * 8));
                var high = Avx2.CompareGreaterThan(index, Vector256.Create(7)).AsSingle();
                var source = plane + bases[b];
                var sum = Vector256<float>.Zero;
                for (var k = 0; k < taps; k++)
                {
                    var lo = Avx2.PermuteVar8x32(Avx.LoadVector256(source + k), index);
                    var hi = Avx2.PermuteVar8x32(Avx.LoadVector256(source + k + 8), index);
                    sum = Vector256.FusedMultiplyAdd(Avx.BlendVariable(lo, hi, high), Avx.LoadVector256(w + (k * padded) + (b * 8)), sum);
                }

                Avx.Store(target + (b * 8), sum);
            }

            for (var q = full * 8; q < validWidth; q++)
            {
                var source = plane + bases[q / 8] + offset[q];
                float sum = 0;
                for (var k = 0; k < taps; k++)
                {
                    sum += source[k] * w[(k * padded) + q];
                }

                target[q] = sum;
            }
        }
    }

    private static readonly Vector128<byte> s_r0 = Mask(0, 0);
    private static readonly Vector128<byte> s_r1 = Mask(0, 1);
    private static readonly Vector128<byte> s_r2 = Mask(0, 2);
    private static readonly Vector128<byte> s_g0 = Mask(1, 0);
    private static readonly Vector128<byte> s_g1 = Mask(1, 1);
    private static readonly Vector128<byte> s_g2 = Mask(1, 2);
    private static readonly Vector128<byte> s_b0 = Mask(2, 0);
    private static readonly Vector128<byte> s_b1 = Mask(2, 1);
    private static readonly Vector128<byte> s_b2 = Mask(2, 2);

    /// <summary>The shuffle that moves channel <paramref name="channel"/>'s bytes of 16-byte part <paramref name="part"/> into place (0x80 zeroes).</summary>
    private static Vector128<byte> Mask(int channel, int part)
    {
        Span<byte> mask = stackalloc byte[16];
        for (var i = 0; i < 16; i++)
        {
            var source = (3 * i) + channel - (16 * part);
            mask[i] = source is >= 0 and < 16 ? (byte)source : (byte)0x80;
        }

        return Vector128.Create((ReadOnlySpan<byte>)mask);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<byte> Channel(Vector128<byte> v0, Vector128<byte> v1, Vector128<byte> v2, Vector128<byte> m0, Vector128<byte> m1, Vector128<byte> m2) =>
        Sse2.Or(Sse2.Or(Ssse3.Shuffle(v0, m0), Ssse3.Shuffle(v1, m1)), Ssse3.Shuffle(v2, m2));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void Store(float* destination, Vector128<byte> bytes)
    {
        Avx.Store(destination, Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(bytes)));
        Avx.Store(destination + 8, Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(bytes, 8))));
    }
}
