using System.Runtime.InteropServices;

namespace StreamingLoader.Datasets;

/// <summary>
/// One fixed-shape numeric sample: features and a label, both views of memory the sample does
/// not own (usually a slice of the dataset's storage), so reading a sample allocates nothing.
/// </summary>
/// <typeparam name="TFeature">The features' element type.</typeparam>
/// <typeparam name="TLabel">The label's element type.</typeparam>
[StructLayout(LayoutKind.Auto)]
public readonly struct Sample<TFeature, TLabel>
    where TFeature : unmanaged
    where TLabel : unmanaged
{
    private readonly ReadOnlyMemory<TLabel> _labels;
    private readonly TLabel _label;

    /// <summary>Creates a sample with a scalar label.</summary>
    public Sample(ReadOnlyMemory<TFeature> features, TLabel label)
    {
        Features = features;
        _label = label;
    }

    /// <summary>Creates a sample with a label tensor (for example a regression target of shape [1]).</summary>
    public Sample(ReadOnlyMemory<TFeature> features, ReadOnlyMemory<TLabel> label)
    {
        Features = features;
        _labels = label;
        IsScalarLabel = false;
    }

    /// <summary>Gets the features, flattened in row-major order.</summary>
    public ReadOnlyMemory<TFeature> Features { get; }

    /// <summary>Gets whether the label is a scalar (true) or a tensor (false).</summary>
    public bool IsScalarLabel { get; } = true;

    /// <summary>Gets the number of label elements: 1 for a scalar.</summary>
    public int LabelLength => IsScalarLabel ? 1 : _labels.Length;

    /// <summary>Gets the scalar label, or the first element of a label tensor.</summary>
    public TLabel Label => IsScalarLabel ? _label : _labels.Span[0];

    /// <summary>Copies the label's elements to <paramref name="destination"/>.</summary>
    public void CopyLabelTo(Span<TLabel> destination)
    {
        if (IsScalarLabel)
        {
            destination[0] = _label;
        }
        else
        {
            _labels.Span.CopyTo(destination);
        }
    }
}
