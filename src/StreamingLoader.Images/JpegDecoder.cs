namespace StreamingLoader.Images;

/// <summary>Which library decodes JPEG files (every other format has one decoder).</summary>
/// <remarks>
/// Both give the same pixels within one grey level and the same verdict on every file (see the README's "Bad files"):
/// libjpeg-turbo is about three times faster. <see cref="ImageFolder.JpegDecoder"/> says which one a folder uses.
/// </remarks>
public enum JpegDecoder
{
    /// <summary>libjpeg-turbo when the system has it (Debian and Ubuntu: <c>libturbojpeg0</c>), otherwise Skia.</summary>
    Auto,

    /// <summary>libjpeg-turbo through its TurboJPEG API; loading a folder fails when the library is missing.</summary>
    TurboJpeg,

    /// <summary>SkiaSharp's codec, whose native library ships with the package for every platform.</summary>
    Skia,
}
