using System.Runtime.InteropServices;

namespace StreamingLoader.Images.Decoding;

/// <summary>What an image file declares before decoding: its size and which decoder reads it.</summary>
[StructLayout(LayoutKind.Auto)]
internal readonly record struct ImageHeader(int Width, int Height, bool TurboJpeg);
