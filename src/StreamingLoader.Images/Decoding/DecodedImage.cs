using System.Runtime.InteropServices;

namespace StreamingLoader.Images.Decoding;

/// <summary>
/// Pixels decoded into the workspace, packed (Channels bytes a pixel, rows without padding), at ScaleX × ScaleY of
/// the declared size, by <paramref name="Codec"/>; <paramref name="Warning"/> is the decoder's message when the file
/// decoded with a warning.
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal readonly record struct DecodedImage(int Width, int Height, int Channels, double ScaleX, double ScaleY, ImageCodec Codec, string? Warning = null);
