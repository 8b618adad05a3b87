namespace StreamingLoader.Images.Geometry;

/// <summary>A transform that changes where the output's pixels come from, planned before decoding.</summary>
internal abstract class GeometricTransform : ImageTransform
{
    /// <summary>Gets whether the transform resamples (at most one such transform per composition).</summary>
    public virtual bool Resamples => false;

    /// <summary>The output size this transform fixes whatever the input's, or null when it depends on the input.</summary>
    public virtual (int Height, int Width)? FixedSize(in (int Height, int Width)? input) => input;

    public abstract void Apply(ref GeometryPlan plan, CounterRandom random);
}
