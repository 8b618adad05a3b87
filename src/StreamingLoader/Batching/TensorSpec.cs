namespace StreamingLoader.Batching;

/// <summary>
/// One named tensor of a batch: its name, element type and the shape of one sample's part of it. A batch of n
/// samples holds it as [n, ..Shape]. A first dimension of <see cref="Variable"/> makes it a variable-length field
/// (token ids, boxes): each batch pads it to a length that <see cref="Padding"/> decides, and can carry an attention
/// mask (<see cref="MaskName"/>) and the samples' lengths (<see cref="LengthsName"/>) beside it.
/// </summary>
/// <example>
/// <code>
/// new TensorSpec("input_ids", ElementType.Int64, [TensorSpec.Variable])
/// {
///     PadValue = 50256, MaskName = "attention_mask", Padding = new SequencePadding { MaxLength = 512 },
/// }
/// </code>
/// </example>
public sealed class TensorSpec
{
    /// <summary>A first dimension whose length varies from sample to sample.</summary>
    public const int Variable = -1;

    private readonly SequencePadding? _padding;

    /// <summary>Creates a tensor description.</summary>
    /// <param name="name">The tensor's name in the batch (<c>batch["input_ids"]</c>).</param>
    /// <param name="elementType">The element type.</param>
    /// <param name="shape">
    /// The shape of one sample's part; empty for a scalar per sample. The first dimension may be <see cref="Variable"/>;
    /// every other dimension is fixed and positive.
    /// </param>
    public TensorSpec(string name, ElementType elementType, IReadOnlyList<int> shape)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(shape);
        if (!Enum.IsDefined(elementType))
        {
            throw new ArgumentOutOfRangeException(nameof(elementType), elementType, $"Tensor '{name}': not an ElementType value.");
        }

        Name = name;
        ElementType = elementType;
        Shape = [.. shape];
        IsVariableLength = Shape.Count > 0 && Shape[0] == Variable;
        var fixedDims = IsVariableLength ? Shape.Skip(1).ToArray() : [.. Shape];
        if (fixedDims.Any(d => d <= 0))
        {
            throw new ArgumentOutOfRangeException(
                nameof(shape), $"Tensor '{name}' has shape {Shapes.Format(Shape)}: only the first dimension may be TensorSpec.Variable (-1); every other dimension must be positive.");
        }

        ElementsPerStep = Shapes.ElementCount(fixedDims, nameof(shape));
    }

    /// <summary>Gets the tensor's name.</summary>
    public string Name { get; }

    /// <summary>Gets the element type.</summary>
    public ElementType ElementType { get; }

    /// <summary>Gets one sample's shape; its first dimension is <see cref="Variable"/> for a variable-length field.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>Gets whether the first dimension varies from sample to sample.</summary>
    public bool IsVariableLength { get; }

    /// <summary>
    /// Gets the elements per step of the variable dimension (the product of the other dimensions), or, for a fixed
    /// shape, the elements of one sample.
    /// </summary>
    public int ElementsPerStep { get; }

    /// <summary>Gets the value padding positions hold (a pad token id, -100 for ignored labels, 0); cast to the element type.</summary>
    public double PadValue { get; init; }

    /// <summary>
    /// Gets how a variable-length field is padded and truncated; null for the defaults of <see cref="SequencePadding"/>.
    /// Only for a variable-length field.
    /// </summary>
    public SequencePadding? Padding
    {
        get => _padding;
        init => _padding = value?.Clone();
    }

    /// <summary>
    /// Gets the name of an Int64 [n, length] tensor the loader adds beside this one: 1 where a sample has data, 0 where
    /// it is padding (Hugging Face's <c>attention_mask</c>). Null for none. Only for a variable-length field.
    /// </summary>
    public string? MaskName { get; init; }

    /// <summary>
    /// Gets the name of an Int64 [n] tensor the loader adds beside this one: each sample's length after truncation.
    /// Null for none. Only for a variable-length field.
    /// </summary>
    public string? LengthsName { get; init; }

    /// <summary>Gets the padding rules in force: <see cref="Padding"/> or the defaults.</summary>
    internal SequencePadding EffectivePadding => _padding ?? SequencePadding.Default;

    /// <summary>Gets the most elements one sample can put in this tensor: at the padding's longest padded length when variable.</summary>
    internal long MaxElementsPerSample => IsVariableLength ? (long)EffectivePadding.MaxPaddedLength * ElementsPerStep : ElementsPerStep;

    /// <inheritdoc/>
    public override string ToString()
    {
        var shape = IsVariableLength ? "[L" + string.Concat(Shape.Skip(1).Select(d => ", " + d)) + "]" : Shapes.Format(Shape);
        return $"{Name} {ElementType}{shape}";
    }

    /// <summary>Whether two specs describe the same tensor (name, type, shape and padding).</summary>
    internal bool SameAs(TensorSpec other) =>
        Name == other.Name && ElementType == other.ElementType && Shape.SequenceEqual(other.Shape)
        && PadValue.Equals(other.PadValue) && MaskName == other.MaskName && LengthsName == other.LengthsName
        && EffectivePadding.SameAs(other.EffectivePadding);
}
