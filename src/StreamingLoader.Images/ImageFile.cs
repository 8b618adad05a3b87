using System.Runtime.InteropServices;

namespace StreamingLoader.Images;

/// <summary>One image of an <see cref="ImageFolder"/>: its path and its class index (torchvision's <c>(path, target)</c>).</summary>
[StructLayout(LayoutKind.Auto)]
public readonly record struct ImageFile(string Path, int Label);
