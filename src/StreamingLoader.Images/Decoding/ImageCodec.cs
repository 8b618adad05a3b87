namespace StreamingLoader.Images.Decoding;

/// <summary>The library that decodes a file: the value of the <c>decoder</c> tag of the image metrics.</summary>
internal enum ImageCodec
{
    TurboJpeg,
    Skia,
    Netpbm,
    LibTiff,
}
