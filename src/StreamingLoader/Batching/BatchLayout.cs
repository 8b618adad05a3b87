namespace StreamingLoader;

/// <summary>
/// The per-sample shape and element type of a batch's features and labels; a batch of n samples has
/// shapes [n, ..FeatureShape] and [n, ..LabelShape].
/// </summary>
public sealed class BatchLayout
{
    /// <summary>Creates a layout.</summary>
    public BatchLayout(ElementType featureType, IReadOnlyList<int> featureShape, ElementType labelType, IReadOnlyList<int> labelShape)
    {
        ArgumentNullException.ThrowIfNull(featureShape);
        ArgumentNullException.ThrowIfNull(labelShape);
        FeatureType = featureType;
        LabelType = labelType;
        FeatureShape = [.. featureShape];
        LabelShape = [.. labelShape];
        FeatureElements = Shapes.ElementCount(FeatureShape, nameof(featureShape));
        LabelElements = Shapes.ElementCount(LabelShape, nameof(labelShape));
    }

    /// <summary>Gets the features' element type.</summary>
    public ElementType FeatureType { get; }

    /// <summary>Gets one sample's feature shape.</summary>
    public IReadOnlyList<int> FeatureShape { get; }

    /// <summary>Gets the labels' element type.</summary>
    public ElementType LabelType { get; }

    /// <summary>Gets one sample's label shape; empty for scalar labels.</summary>
    public IReadOnlyList<int> LabelShape { get; }

    /// <summary>Gets the number of feature elements in one sample.</summary>
    public int FeatureElements { get; }

    /// <summary>Gets the number of label elements in one sample.</summary>
    public int LabelElements { get; }

    /// <summary>Gets the bytes one sample takes in a batch, features and label.</summary>
    public long BytesPerSample =>
        ((long)FeatureElements * ElementTypes.SizeOf(FeatureType)) + ((long)LabelElements * ElementTypes.SizeOf(LabelType));

    /// <inheritdoc/>
    public override string ToString() =>
        $"features {FeatureType}{Shapes.Format(FeatureShape)}, labels {LabelType}{Shapes.Format(LabelShape)}";
}
