using System.Runtime.InteropServices;

namespace StreamingLoader.Images.Decoding;

/// <summary>
/// What an image file declares before decoding: its size, its format, which decoder reads it, a JPEG's colour space
/// as TurboJPEG names it (TJCS_*: 0 RGB, 1 YCbCr, 2 gray, 3 CMYK, 4 YCCK), and the warning of a decoder that gave the
/// file to another.
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal readonly record struct ImageHeader(int Width, int Height, ImageFormat Format, ImageCodec Codec, int JpegColorspace = -1, string? Warning = null);
