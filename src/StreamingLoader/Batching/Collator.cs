using System.Runtime.CompilerServices;
namespace StreamingLoader;

/// <summary>
/// Writes samples into a batch's buffers (PyTorch's <c>collate_fn</c>). Subclass it for a custom layout, for
/// example padding variable-length sequences to a fixed length; <see cref="Collate"/> has the default tensor
/// collation.
/// </summary>
/// <typeparam name="T">The sample type.</typeparam>
/// <remarks>Implementations run on several threads at once, each on its own batch, and must not allocate per sample.</remarks>
public abstract class Collator<T>
{
    /// <summary>Returns the layout of every batch, given the first sample the loader sees.</summary>
    public abstract BatchLayout GetLayout(T firstSample);

    /// <summary>
    /// Writes <paramref name="sample"/> into slot <paramref name="slot"/> of <paramref name="batch"/>
    /// (<c>batch.Features.Sample&lt;float&gt;(slot)</c>). Throw to reject a sample: the loader reports it with the
    /// sample's index, or drops it under <see cref="ErrorPolicy.Skip"/>.
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
            var layout = batch.Layout;
            if (sample.Features.Length != layout.FeatureElements)
            {
                throw new InvalidDataException(
                    $"The sample has {sample.Features.Length} feature elements; the batch layout expects {layout.FeatureElements} ({Shapes.Format(layout.FeatureShape)}).");
            }

            if (sample.LabelLength != layout.LabelElements)
            {
                throw new InvalidDataException(
                    $"The sample has {sample.LabelLength} label elements; the batch layout expects {layout.LabelElements} ({Shapes.Format(layout.LabelShape)}).");
            }

            WriteFeatures(sample.Features.Span, batch.Features.SlotUnchecked<TOut>(slot));
            sample.CopyLabelTo(batch.Labels.SlotUnchecked<TLabel>(slot));
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
