namespace StreamingLoader.Images.Geometry;

/// <summary>torchvision's <c>Normalize(mean, std)</c>, folded into the tensor conversion.</summary>
internal sealed class NormalizeTransform(float[] mean, float[] std) : ImageTransform
{
    public IReadOnlyList<float> Mean => mean;

    public IReadOnlyList<float> Std => std;

    public override string ToString() => $"Normalize(mean=[{string.Join(", ", mean)}], std=[{string.Join(", ", std)}])";
}
