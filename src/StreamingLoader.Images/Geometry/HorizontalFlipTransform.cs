namespace StreamingLoader.Images.Geometry;

/// <summary>torchvision's <c>RandomHorizontalFlip(p)</c>: mirrors when a uniform draw is below p.</summary>
internal sealed class HorizontalFlipTransform(double probability) : GeometricTransform
{
    public override void Apply(ref GeometryPlan plan, CounterRandom random)
    {
        if (random.NextDouble() < probability)
        {
            plan.Flip = !plan.Flip;
        }
    }

    public override string ToString() => $"RandomHorizontalFlip(p={probability})";
}
