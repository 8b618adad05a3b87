using StreamingLoader.Images;

namespace StreamingLoader.WebDataset;

/// <summary>Which members of a tar sample are its image and its label, and how images are decoded.</summary>
/// <remarks>
/// Defaults: <see cref="ImageExtensions"/> jpg, jpeg, png, webp, ppm (the first the sample has is its image);
/// <see cref="LabelExtension"/> "cls" (the class index as text); <see cref="JsonLabelProperty"/> "label" (read when the
/// label member is a .json); <see cref="Images"/> the image folder's defaults (RGB, libjpeg-turbo when present).
/// </remarks>
public sealed class TarImageOptions
{
    private IReadOnlyList<string> _imageExtensions = ["jpg", "jpeg", "png", "webp", "ppm"];
    private string _labelExtension = "cls";
    private string _jsonLabelProperty = "label";
    private ImageFolderOptions _images = new();

    /// <summary>Gets or sets the extensions an image member may have, in order of preference.</summary>
    public IReadOnlyList<string> ImageExtensions
    {
        get => _imageExtensions;
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            ArgumentOutOfRangeException.ThrowIfZero(value.Count, nameof(value));
            _imageExtensions = [.. value.Select(e => e.TrimStart('.').ToLowerInvariant())];
        }
    }

    /// <summary>
    /// Gets or sets the extension of the label member: its text is an integer (WebDataset's .cls), or, when it ends with
    /// "json", a JSON object whose <see cref="JsonLabelProperty"/> is an integer.
    /// </summary>
    public string LabelExtension
    {
        get => _labelExtension;
        set
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value);
            _labelExtension = value.TrimStart('.').ToLowerInvariant();
        }
    }

    /// <summary>Gets or sets the property of a .json label member that holds the label.</summary>
    public string JsonLabelProperty
    {
        get => _jsonLabelProperty;
        set
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value);
            _jsonLabelProperty = value;
        }
    }

    /// <summary>Gets or sets how images are decoded (color mode, pixel limit, JPEG decoder, scaled decoding).</summary>
    public ImageFolderOptions Images
    {
        get => _images;
        set => _images = value ?? throw new ArgumentNullException(nameof(value));
    }
}
