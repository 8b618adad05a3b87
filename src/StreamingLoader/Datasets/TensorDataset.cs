using System.Runtime.CompilerServices;

namespace StreamingLoader.Datasets;

/// <summary>
/// An in-memory dataset of features and labels of any fixed shape, stored as two flat arrays
/// (PyTorch's <c>TensorDataset(x, y)</c>). Samples are slices of those arrays: no copy, no allocation.
/// </summary>
/// <typeparam name="TFeature">The features' element type.</typeparam>
/// <typeparam name="TLabel">The labels' element type.</typeparam>
public sealed class TensorDataset<TFeature, TLabel> : IBatchedDataset<Sample<TFeature, TLabel>>, IShapedDataset, IGatherDataset
    where TFeature : unmanaged
    where TLabel : unmanaged
{
    private readonly TFeature[] _features;
    private readonly TLabel[] _labels;
    private readonly int _featureSize;
    private readonly int _labelSize;
    private readonly bool _scalarLabel;

    /// <summary>
    /// Creates a dataset of <c>features.Length / product(featureShape)</c> samples.
    /// </summary>
    /// <param name="features">All features, sample after sample, row-major.</param>
    /// <param name="featureShape">The shape of one sample's features, for example [1, 28, 28].</param>
    /// <param name="labels">All labels, sample after sample.</param>
    /// <param name="labelShape">The shape of one label; omit or pass an empty shape for scalar labels.</param>
    public TensorDataset(TFeature[] features, int[] featureShape, TLabel[] labels, int[]? labelShape = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(featureShape);
        ArgumentNullException.ThrowIfNull(labels);
        labelShape ??= [];
        _featureSize = Shapes.ElementCount(featureShape, nameof(featureShape));
        _labelSize = Shapes.ElementCount(labelShape, nameof(labelShape));
        if (features.Length % _featureSize != 0)
        {
            throw new ArgumentException(
                $"features has {features.Length} elements, which is not a whole number of samples of shape {Shapes.Format(featureShape)} ({_featureSize} elements each).",
                nameof(features));
        }

        Count = features.Length / _featureSize;
        if (labels.Length != Count * _labelSize)
        {
            throw new ArgumentException(
                $"labels has {labels.Length} elements but {Count} samples of label shape {Shapes.Format(labelShape)} need {(long)Count * _labelSize}.",
                nameof(labels));
        }

        _features = features;
        _labels = labels;
        _scalarLabel = labelShape.Length == 0;
        FeatureShape = (int[])featureShape.Clone();
        LabelShape = (int[])labelShape.Clone();
    }

    /// <inheritdoc/>
    public int Count { get; }

    /// <inheritdoc/>
    public IReadOnlyList<int> FeatureShape { get; }

    /// <inheritdoc/>
    public IReadOnlyList<int> LabelShape { get; }

    /// <inheritdoc/>
    public Sample<TFeature, TLabel> GetItem(int index)
    {
        if ((uint)index >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The dataset has {Count} samples.");
        }

        var features = new ReadOnlyMemory<TFeature>(_features, index * _featureSize, _featureSize);
        return _scalarLabel
            ? new Sample<TFeature, TLabel>(features, _labels[index])
            : new Sample<TFeature, TLabel>(features, new ReadOnlyMemory<TLabel>(_labels, index * _labelSize, _labelSize));
    }

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void GetItems(ReadOnlySpan<int> indices, Span<Sample<TFeature, TLabel>> destination)
    {
        for (var i = 0; i < indices.Length; i++)
        {
            destination[i] = GetItem(indices[i]);
        }
    }

    /// <summary>Copies rows straight from the arrays into the batch, fetching a few rows ahead to hide random-access latency.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void IGatherDataset.Gather(ReadOnlySpan<long> indices, Batch batch)
    {
        var features = batch.TensorAt(0);
        var labels = batch.TensorAt(1);
        if (features.Spec.ElementsPerStep != _featureSize || labels.Spec.ElementsPerStep != _labelSize
            || features.ElementType != ElementTypes.Of<TFeature>() || labels.ElementType != ElementTypes.Of<TLabel>())
        {
            throw new InvalidOperationException($"The batch layout ({batch.Layout}) does not hold this dataset's samples.");
        }

        const int Ahead = 16;
        for (var i = 0; i < indices.Length; i++)
        {
            if (i + Ahead < indices.Length)
            {
                Prefetch.Row(_features, (int)indices[i + Ahead] * _featureSize, _featureSize);
            }

            var row = (int)indices[i];
            _features.AsSpan(row * _featureSize, _featureSize).CopyTo(features.SlotUnchecked<TFeature>(i));
            _labels.AsSpan(row * _labelSize, _labelSize).CopyTo(labels.SlotUnchecked<TLabel>(i));
        }
    }
}
