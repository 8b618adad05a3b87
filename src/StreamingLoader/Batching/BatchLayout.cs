namespace StreamingLoader.Batching;

/// <summary>
/// The named tensors every batch of a loader holds: the ones a collator declares, then the attention masks and
/// lengths its variable-length fields ask for. A batch of n samples holds each as [n, ..shape], a variable-length
/// field as [n, padded length, ..rest].
/// </summary>
public sealed class BatchLayout
{
    private readonly Dictionary<string, int> _indexByName;

    /// <summary>Creates a layout of the given tensors, in order; masks and lengths they ask for follow them.</summary>
    /// <exception cref="ArgumentException">No tensor, a repeated name, or padding options on a fixed-shape tensor.</exception>
    public BatchLayout(params IEnumerable<TensorSpec> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var declared = tensors.ToArray();
        if (declared.Length == 0)
        {
            throw new ArgumentException("A batch layout needs at least one tensor.", nameof(tensors));
        }

        var all = new List<TensorSpec>(declared);
        var kinds = new List<TensorKind>(declared.Select(_ => TensorKind.Data));
        var sources = new List<int>(declared.Select(_ => -1));
        for (var i = 0; i < declared.Length; i++)
        {
            var spec = declared[i] ?? throw new ArgumentException($"Tensor {i} of the layout is null.", nameof(tensors));
            if (!spec.IsVariableLength && (spec.Padding is not null || spec.MaskName is not null || spec.LengthsName is not null))
            {
                throw new ArgumentException(
                    $"Tensor '{spec.Name}' has a fixed shape {Shapes.Format(spec.Shape)}: Padding, MaskName and LengthsName apply only to a variable-length field (first dimension TensorSpec.Variable).",
                    nameof(tensors));
            }

            if (spec.MaskName is { } mask)
            {
                all.Add(new TensorSpec(mask, ElementType.Int64, [TensorSpec.Variable]) { Padding = spec.EffectivePadding });
                kinds.Add(TensorKind.Mask);
                sources.Add(i);
            }

            if (spec.LengthsName is { } lengths)
            {
                all.Add(new TensorSpec(lengths, ElementType.Int64, []));
                kinds.Add(TensorKind.Lengths);
                sources.Add(i);
            }
        }

        _indexByName = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < all.Count; i++)
        {
            if (!_indexByName.TryAdd(all[i].Name, i))
            {
                throw new ArgumentException($"The layout names tensor '{all[i].Name}' twice (masks and lengths count as tensors).", nameof(tensors));
            }
        }

        Tensors = all;
        Kinds = [.. kinds];
        Sources = [.. sources];
        Variable = [.. Enumerable.Range(0, all.Count).Where(i => kinds[i] == TensorKind.Data && all[i].IsVariableLength)];
    }

    /// <summary>
    /// Creates the two-tensor layout of a features/labels dataset: <c>features</c> [n, ..featureShape] and
    /// <c>labels</c> [n, ..labelShape] (empty for a scalar label), read as <see cref="Batch.Features"/> and
    /// <see cref="Batch.Labels"/>.
    /// </summary>
    public BatchLayout(ElementType featureType, IReadOnlyList<int> featureShape, ElementType labelType, IReadOnlyList<int> labelShape)
        : this(new TensorSpec(FeaturesName, featureType, featureShape), new TensorSpec(LabelsName, labelType, labelShape))
    {
    }

    /// <summary>Gets every tensor of a batch: the declared ones in order, then the masks and lengths they ask for.</summary>
    public IReadOnlyList<TensorSpec> Tensors { get; }

    /// <summary>Gets whether any tensor varies in length, so each batch is padded.</summary>
    public bool HasVariableLength => Variable.Length > 0;

    /// <summary>Gets the most bytes one sample can take in a batch: variable-length fields at their maximum length.</summary>
    public long MaxBytesPerSample => Tensors.Sum(t => t.MaxElementsPerSample * ElementTypes.SizeOf(t.ElementType));

    internal const string FeaturesName = "features";

    internal const string LabelsName = "labels";

    /// <summary>Gets what each tensor is: collated data, or a mask or lengths the loader derives.</summary>
    internal TensorKind[] Kinds { get; }

    /// <summary>Gets, for each derived tensor, the index of the variable-length field it describes; -1 for data.</summary>
    internal int[] Sources { get; }

    /// <summary>Gets the indices of the variable-length data tensors, in order: the order a collator measures them in.</summary>
    internal int[] Variable { get; }

    /// <summary>Gets the index of the tensor named <paramref name="name"/>, or -1.</summary>
    public int IndexOf(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _indexByName.TryGetValue(name, out var index) ? index : -1;
    }

    /// <summary>Whether two layouts describe the same batches.</summary>
    internal bool SameAs(BatchLayout other) =>
        ReferenceEquals(this, other) || (Tensors.Count == other.Tensors.Count && Tensors.Zip(other.Tensors).All(p => p.First.SameAs(p.Second)));

    /// <inheritdoc/>
    public override string ToString() => string.Join(", ", Tensors);
}
