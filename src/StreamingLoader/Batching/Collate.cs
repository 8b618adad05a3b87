using System.Runtime.CompilerServices;

namespace StreamingLoader.Batching;

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

    /// <summary>
    /// Parses JSON Lines (<see cref="JsonLines.Read(string, int)"/>, <see cref="FileTail"/>, message bodies) like <c>{"x":[0.5, -1.25, …],"y":3}</c>: a number array of exactly <paramref name="features"/>
    /// elements becomes Float32 features [features], an integer becomes the Int64 label. Other fields are ignored.
    /// A malformed line fails with its file and line number. Numbers are rounded correctly to float whatever their
    /// length; labels are exact over the whole Int64 range; keys may be escaped (<c>"\u0078"</c> is <c>"x"</c>).
    /// </summary>
    /// <param name="featuresField">The key of the number array.</param>
    /// <param name="features">The array's length.</param>
    /// <param name="labelField">The key of the integer label.</param>
    /// <param name="nonFiniteNumbers">
    /// What to do with <c>NaN</c>, <c>Infinity</c>, <c>-Infinity</c> and features beyond the Float32 range: reject the
    /// line (the default), write them, or write and count them.
    /// </param>
    public static Collator<TextLine> Json(string featuresField, int features, string labelField, NonFiniteNumbers nonFiniteNumbers = NonFiniteNumbers.Reject)
    {
        ArgumentException.ThrowIfNullOrEmpty(featuresField);
        ArgumentException.ThrowIfNullOrEmpty(labelField);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(features);
        if (!Enum.IsDefined(nonFiniteNumbers))
        {
            throw new ArgumentOutOfRangeException(nameof(nonFiniteNumbers), nonFiniteNumbers, "Not a NonFiniteNumbers value.");
        }

        return new JsonCollator(featuresField, features, labelField, nonFiniteNumbers);
    }

    /// <summary>
    /// CSV rows (one record per line, as <see cref="FileTail"/> reads them) parsed straight into batches: chosen columns
    /// become Float32 features [columns], one column the Int64 label. Fields may be quoted (<c>"1.5"</c>, with
    /// <c>""</c> for a quote inside); a quoted line break is not supported, since lines are records. A malformed row
    /// fails with its file, line and column (or is a dead letter under <see cref="ErrorPolicy.Skip"/>). Columns chosen
    /// by name in each file's header (follow with <see cref="TailOptions.HasHeader"/>): a rotated file may order its
    /// columns differently.
    /// </summary>
    public static Collator<TextLine> Csv(IReadOnlyList<string> featureColumns, string labelColumn, char delimiter = ',')
    {
        ArgumentNullException.ThrowIfNull(featureColumns);
        ArgumentOutOfRangeException.ThrowIfZero(featureColumns.Count, nameof(featureColumns));
        ArgumentException.ThrowIfNullOrEmpty(labelColumn);
        var names = featureColumns.Append(labelColumn).ToArray();
        if (names.Distinct(StringComparer.Ordinal).Count() != names.Length)
        {
            throw new ArgumentException("A column is named twice among the features and the label.", nameof(featureColumns));
        }

        return new CsvCollator(CheckDelimiter(delimiter), featureColumns.Count, names, null);
    }

    /// <summary>CSV rows as <see cref="Csv(IReadOnlyList{string}, string, char)"/>, columns chosen by zero-based index, for files without a header.</summary>
    public static Collator<TextLine> Csv(IReadOnlyList<int> featureColumns, int labelColumn, char delimiter = ',')
    {
        ArgumentNullException.ThrowIfNull(featureColumns);
        ArgumentOutOfRangeException.ThrowIfZero(featureColumns.Count, nameof(featureColumns));
        ArgumentOutOfRangeException.ThrowIfNegative(labelColumn);
        int[] indices = [.. featureColumns, labelColumn];
        if (indices.Any(i => i < 0) || indices.Distinct().Count() != indices.Length)
        {
            throw new ArgumentException("Column indices must be non-negative and distinct, the label's included.", nameof(featureColumns));
        }

        return new CsvCollator(CheckDelimiter(delimiter), featureColumns.Count, null, CsvRowParser.ColumnMap(indices));
    }

    private static byte CheckDelimiter(char delimiter) =>
        delimiter is > (char)0 and < (char)128 and not '"' and not '\n' and not '\r'
            ? (byte)delimiter
            : throw new ArgumentOutOfRangeException(nameof(delimiter), delimiter, "The delimiter must be an ASCII character other than a quote or a line break.");

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
        internal override void Prefetch(in Sample<TIn, TLabel> sample) => StreamingLoader.Internal.Prefetch.Span(sample.Features.Span);
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
