namespace StreamingLoader.Images.Tests;

/// <summary>
/// How far an output is from torchvision's, per element, in grey levels (0–255): the mean, the 99th percentile and
/// the maximum of |ours − theirs| × std × 255 (std undoes Normalize; 1 without it).
/// </summary>
internal readonly record struct PixelDifference(double Mean, double P99, double Max)
{
    /// <summary>The bound every deterministic pipeline keeps, decoded at full size: mean, 99th percentile and maximum of the absolute difference.</summary>
    public static readonly PixelDifference Bound = new(2.0, 8.0, 4.0);

    public static PixelDifference Of(ReadOnlySpan<float> ours, ReadOnlySpan<float> theirs, IReadOnlyList<float> std, int plane)
    {
        var differences = new double[ours.Length];
        for (var i = 0; i < ours.Length; i++)
        {
            differences[i] = Math.Abs(ours[i] - theirs[i]) * std[Math.Min(i / plane, std.Count - 1)] * 255;
        }

        var mean = differences.Average();
        Array.Sort(differences);
        return new PixelDifference(mean, differences[(int)Math.Ceiling(0.99 * (differences.Length - 1))], differences[^1]);
    }

    public PixelDifference Worst(PixelDifference other) => new(Math.Max(Mean, other.Mean), Math.Max(P99, other.P99), Math.Max(Max, other.Max));

    public bool Within(PixelDifference bound) => Mean <= bound.Mean && P99 <= bound.P99 && Max <= bound.Max;

    public override string ToString() => $"mean {Mean:F2}, p99 {P99:F2}, max {Max:F2}";
}
