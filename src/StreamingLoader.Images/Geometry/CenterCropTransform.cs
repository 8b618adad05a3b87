namespace StreamingLoader.Images.Geometry;

/// <summary>torchvision's <c>CenterCrop((height, width))</c>, which pads with black when the image is smaller.</summary>
internal sealed class CenterCropTransform(int height, int width) : GeometricTransform
{
    public override (int Height, int Width)? FixedSize(in (int Height, int Width)? input) => (height, width);

    public override void Apply(ref GeometryPlan plan, CounterRandom random) =>
        plan.Crop(Offset(plan.Height, height), Offset(plan.Width, width), height, width);

    /// <summary>torchvision rounds half to even (Python's <c>round</c>); a padded side starts at minus the left padding.</summary>
    internal static int Offset(int image, int crop) =>
        crop > image ? -((crop - image) / 2) : (int)Math.Round((image - crop) / 2.0, MidpointRounding.ToEven);

    public override string ToString() => $"CenterCrop(({height}, {width}))";
}
