using StreamingLoader.Datasets;
using StreamingLoader.Batching;

namespace StreamingLoader.Images;

/// <summary>
/// A map-style dataset of images laid out one sub-folder per class (torchvision's <c>ImageFolder</c>): classes are the
/// sub-folder names sorted ordinally and numbered from 0; each class's files are found recursively and sorted by path.
/// </summary>
/// <remarks>
/// <para>
/// A sample is an <see cref="ImageFile"/> (path and label), which costs nothing to read. Pixels are decoded when the
/// sample is written into its batch: <see cref="CreateLoader"/> (or <c>Collate.Images</c>) plans each image's
/// crop first, decodes only what the output needs, and writes normalized CHW floats straight into the batch slot.
/// </para>
/// <para>
/// A file that cannot be decoded (truncated, corrupt, empty, not an image, or above <see cref="ImageFolderOptions.MaxPixels"/>)
/// fails its sample with an <see cref="InvalidDataException"/> that names the file: the loader stops with the sample's
/// index, or under <see cref="ErrorPolicy.Skip"/> records a dead letter and goes on.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var folder = ImageFolder.Load("data/train");
/// var transform = ImageTransform.Compose(ImageTransform.RandomResizedCrop(224), ImageTransform.RandomHorizontalFlip(),
///     ImageTransform.ToTensor(), ImageTransform.Normalize([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]));
/// await using var loader = folder.CreateLoader(transform, new LoaderOptions { BatchSize = 64, Shuffle = true, Workers = 2 });
/// </code>
/// </example>
public sealed class ImageFolder : IDataset<ImageFile>
{
    private readonly ImageFile[] _samples;
    private readonly ImageFolderOptions _options;

    private ImageFolder(string root, string[] classes, ImageFile[] samples, ImageFolderOptions options, JpegDecoder jpegDecoder)
    {
        Root = root;
        JpegDecoder = jpegDecoder;
        Classes = classes;
        ClassToIndex = classes.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i, StringComparer.Ordinal);
        _samples = samples;
        _options = options;
    }

    /// <summary>Gets the folder the classes were read from.</summary>
    public string Root { get; }

    /// <summary>Gets the class names, sorted; a class's index is its position here.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>Gets each class name's index (torchvision's <c>class_to_idx</c>).</summary>
    public IReadOnlyDictionary<string, int> ClassToIndex { get; }

    /// <summary>Gets every sample, in dataset order (torchvision's <c>samples</c>).</summary>
    public IReadOnlyList<ImageFile> Samples => _samples;

    /// <inheritdoc/>
    public int Count => _samples.Length;

    /// <summary>
    /// Gets the library that decodes this folder's JPEGs: <see cref="Images.JpegDecoder.TurboJpeg"/> or
    /// <see cref="Images.JpegDecoder.Skia"/>, never <see cref="Images.JpegDecoder.Auto"/> (which is resolved when the
    /// folder is loaded). Worth logging at start: without libturbojpeg the same pipeline runs about three times slower.
    /// </summary>
    public JpegDecoder JpegDecoder { get; }

    /// <summary>Gets the options the folder was loaded with (a copy).</summary>
    public ImageFolderOptions Options => _options.Clone();

    /// <summary>Finds the classes and images under <paramref name="root"/>.</summary>
    /// <exception cref="DirectoryNotFoundException"><paramref name="root"/> does not exist.</exception>
    /// <exception cref="FileNotFoundException">There is no class folder, or a class has no valid file; the message names them.</exception>
    /// <exception cref="DllNotFoundException"><see cref="ImageFolderOptions.JpegDecoder"/> is TurboJpeg and libturbojpeg is not installed.</exception>
    public static ImageFolder Load(string root, ImageFolderOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        options = (options ?? new ImageFolderOptions()).Clone();
        var jpegDecoder = ImageProcessor.ResolveJpegDecoder(options.JpegDecoder);
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"The image folder '{root}' does not exist.");
        }

        var classes = Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();
        if (classes.Length == 0)
        {
            throw new FileNotFoundException($"Couldn't find any class folder in '{root}': an image folder holds one sub-folder per class.");
        }

        var isValid = options.IsValidFile ?? HasExtension(options.Extensions);
        var samples = new List<ImageFile>();
        var empty = new List<string>();
        for (var label = 0; label < classes.Length; label++)
        {
            var before = samples.Count;
            var classRoot = Path.Combine(root, classes[label]);
            var folders = Directory.EnumerateDirectories(classRoot, "*", SearchOption.AllDirectories).Prepend(classRoot).Order(StringComparer.Ordinal);
            foreach (var folder in folders)
            {
                foreach (var file in Directory.GetFiles(folder).Order(StringComparer.Ordinal))
                {
                    if (isValid(file))
                    {
                        samples.Add(new ImageFile(file, label));
                    }
                }
            }

            if (samples.Count == before)
            {
                empty.Add(classes[label]);
            }
        }

        if (empty.Count > 0)
        {
            var what = options.IsValidFile is null ? $"with an extension in {string.Join(", ", options.Extensions)}" : "that the IsValidFile predicate accepts";
            throw new FileNotFoundException($"Found no valid file for the classes {string.Join(", ", empty)} in '{root}' (a valid file is one {what}).");
        }

        return new ImageFolder(root, classes, [.. samples], options, jpegDecoder);
    }

    /// <inheritdoc/>
    public ImageFile GetItem(int index)
    {
        if ((uint)index >= (uint)_samples.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The dataset has {_samples.Length} samples.");
        }

        return _samples[index];
    }

    /// <summary>
    /// Builds a loader over this folder with <paramref name="transform"/>: the pipeline attaches each sample's random
    /// context and <c>Collate.Images(folder, transform)</c> decodes and transforms it into the batch.
    /// </summary>
    public DataLoader CreateLoader(ImageTransform transform, LoaderOptions? options = null, Sampler? sampler = null)
    {
        var collator = Collate.Images(this, transform);
        return Pipeline.From(this, sampler).Transform(static (file, context) => new ImageSample(file, context)).Build(collator, options);
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"ImageFolder: {Count} images in {Classes.Count} classes under '{Root}', JPEG decoded by {(JpegDecoder == JpegDecoder.TurboJpeg ? "libjpeg-turbo" : "Skia")}";

    private static Func<string, bool> HasExtension(IReadOnlyList<string> extensions) =>
        path => extensions.Any(e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase));
}
