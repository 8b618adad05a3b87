using System.Runtime.CompilerServices;
namespace StreamingLoader;

/// <summary>
/// Writes samples into a batch's tensors (PyTorch's <c>collate_fn</c>). <see cref="Collate"/> has the built-in ones:
/// fixed-shape tensors, and <see cref="Collate.Fields{T}"/> for any named tensors with variable-length fields;
/// subclass it for a layout of your own.
/// </summary>
/// <typeparam name="T">The sample type.</typeparam>
/// <remarks>
/// Implementations run on several threads at once, each on its own batch, and must not allocate per sample. With
/// variable-length fields the loader first asks each sample's lengths (<see cref="MeasureLengths"/>), pads the batch
/// to them, then asks for each sample to be written: write a variable-length field with
/// <see cref="BatchTensor.WriteSequence{T}"/>, which truncates and pads as the field's <see cref="SequencePadding"/> says.
/// </remarks>
public abstract class Collator<T>
{
    /// <summary>Returns the layout of every batch, given the first sample the loader sees.</summary>
    public abstract BatchLayout GetLayout(T firstSample);

    /// <summary>
    /// Writes <paramref name="sample"/>'s length in each variable-length field of the layout (in the layout's order,
    /// counted in steps of the variable dimension) into <paramref name="lengths"/>. Only called when the layout has
    /// variable-length fields. Throw to reject the sample, as in <see cref="Write"/>.
    /// </summary>
    public virtual void MeasureLengths(in T sample, Span<int> lengths) =>
        throw new NotSupportedException($"{GetType().Name} declares variable-length fields but does not override MeasureLengths.");

    /// <summary>
    /// Writes <paramref name="sample"/> into slot <paramref name="slot"/> of <paramref name="batch"/>
    /// (<c>batch["image"].Sample&lt;float&gt;(slot)</c>, <c>batch["input_ids"].WriteSequence(slot, ids)</c>). Throw to
    /// reject a sample: the loader reports it with the sample's index, or drops it under <see cref="ErrorPolicy.Skip"/>.
    /// </summary>
    public abstract void Write(in T sample, int slot, Batch batch);

    /// <summary>Hints that <paramref name="sample"/> is written soon, so its memory can be fetched ahead.</summary>
    internal virtual void Prefetch(in T sample)
    {
    }
}

/// <summary>The built-in collators.</summary>
public static class Collate
{
    /// <summary>
    /// Copies fixed-shape samples into the batch as they are: features [n, ..featureShape], labels [n, ..labelShape].
    /// Shapes default to the dataset's (<see cref="IShapedDataset"/>) or to the first sample's lengths.
    /// </summary>
    public static Collator<Sample<TFeature, TLabel>> Tensors<TFeature, TLabel>(IReadOnlyList<int>? featureShape = null, IReadOnlyList<int>? labelShape = null)
        where TFeature : unmanaged
        where TLabel : unmanaged =>
        new TensorCollator<TFeature, TLabel>(featureShape, labelShape);

    /// <summary>
    /// Starts a collator of named fields read from each sample: fixed-shape tensors, scalars and variable-length
    /// sequences padded per batch. Add fields with <see cref="FieldCollator{T}.Tensor{TElement}"/>,
    /// <see cref="FieldCollator{T}.Sequence{TElement}"/> and <see cref="FieldCollator{T}.Scalar{TElement}"/>.
    /// </summary>
    public static FieldCollator<T> Fields<T>() => new([]);

    /// <summary>
    /// Packs documents into rows of <see cref="SequencePacking.Length"/> tokens for language-model pretraining: each
    /// document's tokens and an end-of-text token, one stream cut into rows, so no row is padded but the epoch's last.
    /// Batches hold <c>input_ids</c>, <c>position_ids</c>, <c>document_ids</c> and <c>attention_mask</c>, Int64
    /// [rows, length]; <see cref="LoaderOptions.BatchSize"/> counts rows. Resumes exactly, in the middle of a document too.
    /// </summary>
    /// <param name="tokens">A document's token ids.</param>
    /// <param name="packing">The row length, the end-of-text token and the tensor names; null for the defaults.</param>
    public static Collator<T> Packed<T>(Func<T, ReadOnlySpan<int>> tokens, SequencePacking? packing = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        return new Internal.PackingCollator<T>(document => tokens(document), (packing ?? new SequencePacking()).Clone());
    }

    /// <summary>
    /// Converts byte features (images) to float straight into the batch: <c>(x × scale − mean) / std</c>, which with
    /// the default scale 1/255 maps pixels to [0, 1] (torchvision's <c>ToTensor</c> then <c>Normalize(mean, std)</c>).
    /// </summary>
    public static Collator<Sample<byte, TLabel>> BytesToFloat<TLabel>(IReadOnlyList<int>? featureShape = null, float scale = 1f / 255f, float mean = 0f, float std = 1f)
        where TLabel : unmanaged =>
        new ByteToFloatCollator<TLabel>(featureShape, scale, mean, std);

    internal abstract class FixedShapeCollator<TIn, TOut, TLabel> : Collator<Sample<TIn, TLabel>>
        where TIn : unmanaged
        where TOut : unmanaged
        where TLabel : unmanaged
    {
        private readonly IReadOnlyList<int>? _featureShape;
        private readonly IReadOnlyList<int>? _labelShape;

        protected FixedShapeCollator(IReadOnlyList<int>? featureShape, IReadOnlyList<int>? labelShape)
        {
            _featureShape = featureShape;
            _labelShape = labelShape;
        }

        public override BatchLayout GetLayout(Sample<TIn, TLabel> firstSample) =>
            new(
                ElementTypes.Of<TOut>(),
                _featureShape ?? [firstSample.Features.Length],
                ElementTypes.Of<TLabel>(),
                _labelShape ?? (firstSample.IsScalarLabel ? [] : [firstSample.LabelLength]));

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public sealed override void Write(in Sample<TIn, TLabel> sample, int slot, Batch batch)
        {
            var features = batch.TensorAt(0);
            var labels = batch.TensorAt(1);
            if (sample.Features.Length != features.Spec.ElementsPerStep)
            {
                throw new InvalidDataException(
                    $"The sample has {sample.Features.Length} feature elements; the batch layout expects {features.Spec.ElementsPerStep} ({Shapes.Format(features.Spec.Shape)}).");
            }

            if (sample.LabelLength != labels.Spec.ElementsPerStep)
            {
                throw new InvalidDataException(
                    $"The sample has {sample.LabelLength} label elements; the batch layout expects {labels.Spec.ElementsPerStep} ({Shapes.Format(labels.Spec.Shape)}).");
            }

            WriteFeatures(sample.Features.Span, features.SlotUnchecked<TOut>(slot));
            sample.CopyLabelTo(labels.SlotUnchecked<TLabel>(slot));
        }

        protected abstract void WriteFeatures(ReadOnlySpan<TIn> source, Span<TOut> destination);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        internal override void Prefetch(in Sample<TIn, TLabel> sample) => StreamingLoader.Prefetch.Span(sample.Features.Span);
    }

    private sealed class TensorCollator<TFeature, TLabel>(IReadOnlyList<int>? featureShape, IReadOnlyList<int>? labelShape)
        : FixedShapeCollator<TFeature, TFeature, TLabel>(featureShape, labelShape), ICopyCollator
        where TFeature : unmanaged
        where TLabel : unmanaged
    {
        protected override void WriteFeatures(ReadOnlySpan<TFeature> source, Span<TFeature> destination) => source.CopyTo(destination);
    }

    private sealed class ByteToFloatCollator<TLabel> : FixedShapeCollator<byte, float, TLabel>
        where TLabel : unmanaged
    {
        private readonly float _multiplier;
        private readonly float _offset;
        private float[] _offsets = [];

        public ByteToFloatCollator(IReadOnlyList<int>? featureShape, float scale, float mean, float std)
            : base(featureShape, null)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(std);

            // (x·scale − mean) / std folded into one multiply-add.
            _multiplier = scale / std;
            _offset = -mean / std;
        }

        protected override void WriteFeatures(ReadOnlySpan<byte> source, Span<float> destination)
        {
            System.Numerics.Tensors.TensorPrimitives.ConvertTruncating(source, destination);
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(destination, _multiplier, Offsets(destination.Length), destination);
        }

        /// <summary>The offset repeated once per element, so scaling and shifting take one pass.</summary>
        private ReadOnlySpan<float> Offsets(int length)
        {
            var offsets = _offsets;
            if (offsets.Length != length)
            {
                // Written once per sample size; a race only builds the same array twice.
                offsets = new float[length];
                offsets.AsSpan().Fill(_offset);
                _offsets = offsets;
            }

            return offsets;
        }
    }
}

/// <summary>A collator that copies samples as they are, so a dataset that can gather rows may write batches itself.</summary>
internal interface ICopyCollator;

/// <summary>
/// A dataset that writes the samples at given indices straight into a batch (a row gather), skipping the sample
/// objects; the loader uses it when nothing transforms the samples and the collation is a plain copy.
/// </summary>
internal interface IGatherDataset
{
    /// <summary>Writes sample <c>indices[i]</c> into slot i of <paramref name="batch"/>.</summary>
    void Gather(ReadOnlySpan<long> indices, Batch batch);
}
