namespace StreamingLoader.Images.Geometry;

/// <summary>torchvision's <c>Compose</c>, flattened.</summary>
internal sealed class ComposeTransform(ImageTransform[] steps) : ImageTransform
{
    public IReadOnlyList<ImageTransform> Steps => steps;

    internal override IReadOnlyList<ImageTransform> Flatten() => steps;

    public override string ToString() => $"Compose({string.Join(", ", steps.Select(s => s.ToString()))})";
}
