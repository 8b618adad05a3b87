namespace StreamingLoader.Images;

/// <summary>How an <see cref="ImageFolder"/> finds and decodes its images.</summary>
/// <remarks>
/// Defaults: <see cref="Extensions"/> .jpg .jpeg .png .bmp .gif .webp (compared ignoring case), no
/// <see cref="IsValidFile"/>, <see cref="ColorMode"/> RGB, <see cref="MaxPixels"/> 89,478,485 (PIL's limit),
/// <see cref="ScaledDecoding"/> on.
/// </remarks>
public sealed class ImageFolderOptions
{
    /// <summary>The file extensions decoded by default (JPEG through libjpeg-turbo, the rest through Skia).</summary>
    public static readonly IReadOnlyList<string> DefaultExtensions = [".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp"];

    private IReadOnlyList<string> _extensions = DefaultExtensions;
    private long _maxPixels = 89_478_485;

    /// <summary>
    /// Gets or sets the extensions (with the dot) of the files the folder takes, compared ignoring case; ignored when
    /// <see cref="IsValidFile"/> is set (as in torchvision, the two are exclusive).
    /// </summary>
    public IReadOnlyList<string> Extensions
    {
        get => _extensions;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Count == 0 || value.Any(e => string.IsNullOrEmpty(e) || e[0] != '.'))
            {
                throw new ArgumentException("Extensions must be a non-empty list of names that start with a dot, such as \".jpg\".", nameof(value));
            }

            _extensions = [.. value];
        }
    }

    /// <summary>Gets or sets a predicate on a file's path that decides whether the folder takes it (torchvision's <c>is_valid_file</c>).</summary>
    public Func<string, bool>? IsValidFile { get; set; }

    /// <summary>Gets or sets the channels images are converted to.</summary>
    public ImageColorMode ColorMode { get; set; } = ImageColorMode.Rgb;

    /// <summary>
    /// Gets or sets the largest width × height an image may declare; a larger one is refused before any pixel is
    /// decoded (a decompression bomb).
    /// </summary>
    public long MaxPixels
    {
        get => _maxPixels;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _maxPixels = value;
        }
    }

    /// <summary>
    /// Gets or sets whether a JPEG is decoded at the smallest DCT scale (1/8 … 8/8) whose pixels still cover the
    /// output size, instead of at full size. Much faster when images are larger than the output; results differ
    /// from a full-size decode by well under one grey level on average.
    /// </summary>
    public bool ScaledDecoding { get; set; } = true;

    /// <summary>Gets or sets whether JPEGs go to libturbojpeg when it is installed (false: Skia, as on a machine without it).</summary>
    internal bool UseTurboJpeg { get; set; } = true;

    internal ImageFolderOptions Clone() => (ImageFolderOptions)MemberwiseClone();
}
