namespace StreamingLoader.Batching;

/// <summary>
/// How a variable-length field is padded in each batch and what happens to a sample longer than the maximum
/// (Hugging Face's <c>padding</c>, <c>pad_to_multiple_of</c>, <c>max_length</c>, <c>truncation</c> and
/// <c>padding_side</c>; <c>torch.nn.utils.rnn.pad_sequence</c> is the default: pad to the longest, on the right).
/// </summary>
/// <remarks>
/// Defaults: <see cref="PadTo"/> Longest, <see cref="MultipleOf"/> 1, <see cref="MaxLength"/>
/// <see cref="DefaultMaxLength"/>, <see cref="Truncation"/> Reject, <see cref="Side"/> Right. The maximum length also
/// bounds the batch buffers: a buffer grows to the largest batch seen, never past batch size × <see cref="MaxLength"/>
/// (rounded up to <see cref="MultipleOf"/>).
/// </remarks>
public sealed class SequencePadding
{
    /// <summary>The default <see cref="MaxLength"/>: 4096 steps.</summary>
    public const int DefaultMaxLength = 4096;

    internal static readonly SequencePadding Default = new();

    private int _multipleOf = 1;
    private int _maxLength = DefaultMaxLength;
    private PadTo _padTo = PadTo.Longest;
    private Truncation _truncation = Truncation.Reject;
    private PaddingSide _side = PaddingSide.Right;

    /// <summary>Gets or sets the length each batch is padded to: its longest sample, or always <see cref="MaxLength"/>.</summary>
    public PadTo PadTo
    {
        get => _padTo;
        set => _padTo = Defined(value, nameof(PadTo));
    }

    /// <summary>
    /// Gets or sets a multiple the padded length is rounded up to (8 suits tensor cores); at least 1. As in Hugging
    /// Face's <c>pad_to_multiple_of</c>, the rounding may go past a <see cref="MaxLength"/> that is not a multiple
    /// (Hugging Face refuses to truncate to such a maximum; here samples are cut to it, then the batch is rounded up).
    /// </summary>
    public int MultipleOf
    {
        get => _multipleOf;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value, nameof(MultipleOf));
            _multipleOf = value;
        }
    }

    /// <summary>Gets or sets the longest a sample may be, in steps of the variable dimension; at least 1.</summary>
    public int MaxLength
    {
        get => _maxLength;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value, nameof(MaxLength));
            _maxLength = value;
        }
    }

    /// <summary>Gets or sets what happens to a sample longer than <see cref="MaxLength"/>: rejected, or cut on one side.</summary>
    public Truncation Truncation
    {
        get => _truncation;
        set => _truncation = Defined(value, nameof(Truncation));
    }

    /// <summary>Gets or sets the side padding goes on (right for training; left for batched generation).</summary>
    public PaddingSide Side
    {
        get => _side;
        set => _side = Defined(value, nameof(Side));
    }

    /// <summary>
    /// The padded length of a batch whose longest (truncated) sample has <paramref name="longest"/> steps: the longest
    /// (or <see cref="MaxLength"/>) rounded up to <see cref="MultipleOf"/>, as Hugging Face's <c>_pad</c> rounds its
    /// <c>max_length</c>, so a maximum that is not a multiple is padded past.
    /// </summary>
    internal int PaddedLength(int longest) => RoundUp(_padTo == PadTo.MaxLength ? _maxLength : Math.Max(longest, 1));

    /// <summary>The longest any batch is padded to, which bounds the buffers: <see cref="MaxLength"/> rounded up to <see cref="MultipleOf"/>.</summary>
    internal int MaxPaddedLength => RoundUp(_maxLength);

    internal SequencePadding Clone() => (SequencePadding)MemberwiseClone();

    private int RoundUp(int length) => (int)Math.Min((length + _multipleOf - 1L) / _multipleOf * _multipleOf, int.MaxValue);

    internal bool SameAs(SequencePadding other) =>
        (_padTo, _multipleOf, _maxLength, _truncation, _side) == (other._padTo, other._multipleOf, other._maxLength, other._truncation, other._side);

    private static TEnum Defined<TEnum>(TEnum value, string name)
        where TEnum : struct, Enum =>
        Enum.IsDefined(value) ? value : throw new ArgumentOutOfRangeException(name, value, $"Not a {typeof(TEnum).Name} value.");
}
