namespace StreamingLoader.Images;

/// <summary>How an <see cref="ImageFolder"/> finds and decodes its images.</summary>
/// <remarks>
/// Defaults: <see cref="Extensions"/> torchvision's <c>IMG_EXTENSIONS</c> (compared ignoring case), no
/// <see cref="IsValidFile"/>, <see cref="ColorMode"/> RGB, <see cref="MaxPixels"/> 89,478,485 (PIL's limit),
/// <see cref="DecodeScaling"/> <see cref="Images.DecodeScaling.Off"/>, <see cref="JpegDecoder"/>
/// <see cref="Images.JpegDecoder.Auto"/>, no <see cref="OnWarning"/>.
/// </remarks>
public sealed class ImageFolderOptions
{
    /// <summary>
    /// The file extensions a folder takes by default: torchvision's <c>IMG_EXTENSIONS</c>, .jpg .jpeg .png .ppm .bmp
    /// .pgm .tif .tiff .webp, so a folder holds the same samples, in the same order, as torchvision's. GIF decodes too
    /// (its first frame, as PIL) when ".gif" is added.
    /// </summary>
    public static readonly IReadOnlyList<string> DefaultExtensions = [".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"];

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
    /// Gets or sets whether a JPEG much larger than the output may be decoded at a reduced DCT scale, trading equality
    /// with torchvision for speed: <see cref="Images.DecodeScaling.Off"/> (the default) never,
    /// <see cref="Images.DecodeScaling.Balanced"/> while twice the resized size remains,
    /// <see cref="Images.DecodeScaling.Fast"/> while the decoded pixels cover the resized size.
    /// </summary>
    public DecodeScaling DecodeScaling { get; set; } = DecodeScaling.Off;

    /// <summary>
    /// Gets or sets which library decodes JPEGs: <see cref="Images.JpegDecoder.Auto"/> (libjpeg-turbo when installed,
    /// otherwise Skia), or one of them; <see cref="Images.JpegDecoder.TurboJpeg"/> makes
    /// <see cref="ImageFolder.Load"/> fail when libturbojpeg is missing instead of running slower on Skia.
    /// </summary>
    public JpegDecoder JpegDecoder { get; set; } = JpegDecoder.Auto;

    /// <summary>
    /// Gets or sets what is called, on a worker thread, with a file's path and the decoder's message when a file
    /// decodes with a warning (a JPEG with bytes before a marker or corrupt entropy-coded data: accepted, as PIL
    /// accepts it). Every warning is also counted in the <c>streamingloader.images.warnings</c> metric.
    /// </summary>
    public Action<string, string>? OnWarning { get; set; }

    internal ImageFolderOptions Clone() => (ImageFolderOptions)MemberwiseClone();
}
