namespace StreamingLoader.Images.Geometry;

/// <summary>torchvision's <c>Resize(size)</c> (shorter side, when <c>size</c> &gt; 0) or <c>Resize((height, width))</c>.</summary>
internal sealed class ResizeTransform(int size, int height, int width) : GeometricTransform
{
    public override bool Resamples => true;

    public override (int Height, int Width)? FixedSize(in (int Height, int Width)? input) => size == 0 ? (height, width) : null;

    public override void Apply(ref GeometryPlan plan, CounterRandom random)
    {
        if (size == 0)
        {
            plan.Resize(width, height);
            return;
        }

        // torchvision 0.14: the longer side is int(size × long / short), truncated.
        var (w, h) = (plan.Width, plan.Height);
        if (w <= h)
        {
            plan.Resize(size, (int)((long)size * h / w));
        }
        else
        {
            plan.Resize((int)((long)size * w / h), size);
        }
    }

    public override string ToString() => size > 0 ? $"Resize({size})" : $"Resize(({height}, {width}))";
}
