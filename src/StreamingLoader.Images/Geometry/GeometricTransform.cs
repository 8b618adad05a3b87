namespace StreamingLoader.Images.Geometry;

/// <summary>A transform that changes where the output's pixels come from, planned before decoding.</summary>
internal abstract class GeometricTransform : ImageTransform
{
    /// <summary>Gets whether the transform resamples (at most one such transform per composition).</summary>
    public virtual bool Resamples => false;

    public abstract void Apply(ref GeometryPlan plan, ref CounterRandom random);
}
