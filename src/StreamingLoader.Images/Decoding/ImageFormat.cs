namespace StreamingLoader.Images.Decoding;

/// <summary>A file's format, told by its first bytes (as PIL does), never by its name.</summary>
internal enum ImageFormat
{
    /// <summary>None of the formats below: Skia is asked.</summary>
    Other,
    Jpeg,
    Png,
    Gif,
    Bmp,
    WebP,
    Tiff,

    /// <summary>PBM, PGM or PPM (P1 … P6).</summary>
    Netpbm,
}
