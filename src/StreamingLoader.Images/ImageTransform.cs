using StreamingLoader.Images.Geometry;

namespace StreamingLoader.Images;

/// <summary>
/// One of torchvision's image transforms, or a composition of them. Geometric transforms (<see cref="Resize(int)"/>,
/// <see cref="CenterCrop(int)"/>, <see cref="RandomResizedCrop"/>, <see cref="RandomHorizontalFlip"/>) are planned on
/// the image's declared size before any pixel is decoded, so the decoder reads only what the output needs and the
/// pixels are resampled once; <see cref="ToTensor"/> and <see cref="Normalize"/> write the result into the batch.
/// </summary>
/// <remarks>
/// <para>
/// Results match torchvision 0.14 on PIL images: bilinear resampling with PIL's antialiasing filter, crops rounded as
/// torchvision rounds them, padding with black when a center crop is larger than the image.
/// </para>
/// <para>
/// A composition holds at most one resizing transform (<see cref="Resize(int)"/> or <see cref="RandomResizedCrop"/>),
/// any crops and flips before and after it, then <see cref="ToTensor"/> and optionally <see cref="Normalize"/>.
/// Random decisions come from the sample's (seed, epoch, index) generator: the same at any worker count.
/// </para>
/// </remarks>
public abstract class ImageTransform
{
    private protected ImageTransform()
    {
    }

    /// <summary>Applies <paramref name="transforms"/> in order (torchvision's <c>Compose</c>).</summary>
    public static ImageTransform Compose(params ImageTransform[] transforms)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        var steps = new List<ImageTransform>();
        foreach (var transform in transforms)
        {
            ArgumentNullException.ThrowIfNull(transform, nameof(transforms));
            if (transform is ComposeTransform inner)
            {
                steps.AddRange(inner.Steps);
            }
            else
            {
                steps.Add(transform);
            }
        }

        return new ComposeTransform([.. steps]);
    }

    /// <summary>Resizes so that the shorter side is <paramref name="size"/>, keeping the aspect ratio (bilinear, antialiased).</summary>
    public static ImageTransform Resize(int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        return new ResizeTransform(size, 0, 0);
    }

    /// <summary>Resizes to exactly <paramref name="height"/> × <paramref name="width"/> (bilinear, antialiased).</summary>
    public static ImageTransform Resize(int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        return new ResizeTransform(0, height, width);
    }

    /// <summary>Crops the center <paramref name="size"/> × <paramref name="size"/> square, padding with black if the image is smaller.</summary>
    public static ImageTransform CenterCrop(int size) => CenterCrop(size, size);

    /// <summary>Crops the center <paramref name="height"/> × <paramref name="width"/> rectangle, padding with black if the image is smaller.</summary>
    public static ImageTransform CenterCrop(int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        return new CenterCropTransform(height, width);
    }

    /// <summary>
    /// Crops a random area of <paramref name="minScale"/>–<paramref name="maxScale"/> of the image with an aspect ratio
    /// (width / height) drawn log-uniformly from <paramref name="minRatio"/>–<paramref name="maxRatio"/>, and resizes it
    /// to <paramref name="size"/> × <paramref name="size"/>; after 10 draws that do not fit, a center crop clamped to the
    /// ratio range (torchvision's <c>RandomResizedCrop</c>).
    /// </summary>
    public static ImageTransform RandomResizedCrop(int size, double minScale = 0.08, double maxScale = 1.0, double minRatio = 3.0 / 4.0, double maxRatio = 4.0 / 3.0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(minScale);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxScale, minScale);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(minRatio);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxRatio, minRatio);
        return new RandomResizedCropTransform(size, minScale, maxScale, minRatio, maxRatio);
    }

    /// <summary>Mirrors the image left to right with probability <paramref name="probability"/>.</summary>
    public static ImageTransform RandomHorizontalFlip(double probability = 0.5)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(probability);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(probability, 1.0);
        return new HorizontalFlipTransform(probability);
    }

    /// <summary>Converts the pixels to Float32 [channels, height, width] in [0, 1] (torchvision's <c>ToTensor</c>).</summary>
    public static ImageTransform ToTensor() => ToTensorTransform.Instance;

    /// <summary>
    /// Normalizes each channel: <c>(x − mean[c]) / std[c]</c>, after <see cref="ToTensor"/>. One value applies to
    /// every channel.
    /// </summary>
    public static ImageTransform Normalize(IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Count == 0 || mean.Count != std.Count)
        {
            throw new ArgumentException($"mean has {mean.Count} values and std {std.Count}: give one value per channel, the same number for both.", nameof(std));
        }

        if (std.Any(s => !(s > 0)))
        {
            throw new ArgumentOutOfRangeException(nameof(std), "Every std must be positive.");
        }

        return new NormalizeTransform([.. mean], [.. std]);
    }

    /// <summary>The steps of this transform, a composition flattened.</summary>
    internal virtual IReadOnlyList<ImageTransform> Flatten() => [this];
}
