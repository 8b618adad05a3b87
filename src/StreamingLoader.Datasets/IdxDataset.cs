using StreamingLoader.Internal;

namespace StreamingLoader.Datasets;

/// <summary>
/// Images and labels from a pair of IDX files (MNIST, Fashion-MNIST, EMNIST, KMNIST…), gzip'd or plain, loaded once
/// into memory. Samples are slices of that memory: reading one allocates nothing.
/// </summary>
/// <remarks>
/// <para>
/// The images file holds unsigned bytes of shape [n, rows, cols] (or [n, d₁, …]); the labels file holds integers of
/// shape [n]. A sample's features are its bytes with shape [1, rows, cols] (a channel dimension, as torchvision's
/// <c>ToTensor</c> gives a grayscale image) or [d₁, …] as stored for other ranks; its label is the class index.
/// </para>
/// <para>
/// Collate with <c>Collate.BytesToFloat&lt;long&gt;(dataset.FeatureShape, mean, std)</c> to get Float32 features in [0, 1] (optionally normalized), written
/// straight into the batch; the default collation (<c>Build(options)</c>) keeps the raw UInt8 pixels.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var train = IdxDataset.Load("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz");
/// await using var loader = Pipeline.From(train).Build(Collate.BytesToFloat&lt;long&gt;(train.FeatureShape), new LoaderOptions { BatchSize = 32, Shuffle = true });
/// </code>
/// </example>
public sealed class IdxDataset : IBatchedDataset<Sample<byte, long>>, IShapedDataset
{
    private readonly byte[] _images;
    private readonly long[] _labels;
    private readonly int _sampleSize;

    private IdxDataset(string imagesPath, string labelsPath, byte[] images, int[] featureShape, long[] labels)
    {
        ImagesPath = imagesPath;
        LabelsPath = labelsPath;
        _images = images;
        _labels = labels;
        FeatureShape = featureShape;
        _sampleSize = Shapes.ElementCount(featureShape, nameof(featureShape));
        Count = labels.Length;
    }

    /// <inheritdoc/>
    public int Count { get; }

    /// <summary>Gets one sample's feature shape: [1, rows, cols] for images of rank 2.</summary>
    public IReadOnlyList<int> FeatureShape { get; }

    /// <summary>Gets the label shape: empty, labels are scalar class indices.</summary>
    public IReadOnlyList<int> LabelShape { get; } = [];

    /// <summary>Gets the path the images were read from.</summary>
    public string ImagesPath { get; }

    /// <summary>Gets the path the labels were read from.</summary>
    public string LabelsPath { get; }

    /// <summary>Gets every label, in dataset order.</summary>
    public ReadOnlySpan<long> Labels => _labels;

    /// <summary>
    /// Reads an images file and a labels file and checks that they are valid IDX files of the right types that
    /// describe the same number of samples.
    /// </summary>
    /// <param name="imagesPath">IDX file of unsigned bytes, shape [n, rows, cols] (or [n, d₁, …]); gzip'd or plain.</param>
    /// <param name="labelsPath">IDX file of integers (unsigned/signed byte, int16 or int32), shape [n]; gzip'd or plain.</param>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="InvalidDataException">
    /// A file is truncated, has a wrong magic number, element type or rank, or the two files disagree on the sample
    /// count. The message names the file.
    /// </exception>
    public static IdxDataset Load(string imagesPath, string labelsPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagesPath);
        ArgumentException.ThrowIfNullOrEmpty(labelsPath);
        var images = IdxFile.Read(imagesPath);
        if (images.TypeCode != IdxFile.UnsignedByte)
        {
            throw new InvalidDataException($"'{imagesPath}' holds {images.TypeName} elements; an IDX images file holds unsigned bytes (0x08).");
        }

        if (images.Dimensions.Length < 2)
        {
            throw new InvalidDataException(
                $"'{imagesPath}' has shape {Shapes.Format(images.Dimensions)}; an IDX images file has at least 2 dimensions ([n, rows, cols] for images). Is it a labels file?");
        }

        var sampleDims = images.Dimensions[1..];
        if (sampleDims.Contains(0))
        {
            throw new InvalidDataException($"'{imagesPath}' has shape {Shapes.Format(images.Dimensions)}: a sample dimension of size 0.");
        }

        long sampleBytes = 1;
        foreach (var size in sampleDims)
        {
            // With 0 images the file's size bounds nothing, so one sample's size is checked on its own.
            sampleBytes *= size;
            if (sampleBytes > Array.MaxLength)
            {
                throw new InvalidDataException($"'{imagesPath}' has shape {Shapes.Format(images.Dimensions)}: one sample would take more than the {Array.MaxLength} bytes one array can hold.");
            }
        }

        var labels = IdxFile.Read(labelsPath);
        if (labels.TypeCode is not (IdxFile.UnsignedByte or IdxFile.SignedByte or IdxFile.Int16 or IdxFile.Int32))
        {
            throw new InvalidDataException($"'{labelsPath}' holds {labels.TypeName} elements; an IDX labels file holds integers (0x08, 0x09, 0x0B or 0x0C).");
        }

        if (labels.Dimensions.Length != 1)
        {
            throw new InvalidDataException(
                $"'{labelsPath}' has shape {Shapes.Format(labels.Dimensions)}; an IDX labels file has 1 dimension ([n]). Is it an images file?");
        }

        if (labels.Dimensions[0] != images.Dimensions[0])
        {
            throw new InvalidDataException(
                $"'{imagesPath}' holds {images.Dimensions[0]} images but '{labelsPath}' holds {labels.Dimensions[0]} labels: the files do not belong together.");
        }

        int[] featureShape = sampleDims.Length == 2 ? [1, sampleDims[0], sampleDims[1]] : sampleDims;
        return new IdxDataset(imagesPath, labelsPath, images.Data, featureShape, labels.ToInt64());
    }

    /// <inheritdoc/>
    public Sample<byte, long> GetItem(int index)
    {
        if ((uint)index >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The dataset has {Count} samples.");
        }

        return new Sample<byte, long>(new ReadOnlyMemory<byte>(_images, index * _sampleSize, _sampleSize), _labels[index]);
    }

    /// <inheritdoc/>
    public void GetItems(ReadOnlySpan<int> indices, Span<Sample<byte, long>> destination)
    {
        if (destination.Length < indices.Length)
        {
            throw new ArgumentException($"The destination holds {destination.Length} samples; {indices.Length} were asked for.", nameof(destination));
        }

        for (var i = 0; i < indices.Length; i++)
        {
            destination[i] = GetItem(indices[i]);
        }
    }

    /// <inheritdoc/>
    public override string ToString() => $"IdxDataset: {Count} samples of {Shapes.Format(FeatureShape)} bytes from '{ImagesPath}'";
}
