namespace StreamingLoader.Images;

/// <summary>Whether a JPEG much larger than its output may be decoded at a reduced DCT scale (1/8 … 7/8).</summary>
/// <remarks>
/// libjpeg decodes at n/8 of the size for much less work, but its shrinking is not the antialiased bilinear filter
/// torchvision applies, and no margin makes up for it on fine textures (stripes, checks, text at the pixel pitch),
/// whose moiré then differs from torchvision's. The README gives the measured deviation of each mode.
/// </remarks>
public enum DecodeScaling
{
    /// <summary>Always decode at full size, as PIL does: the output matches torchvision's within one grey level.</summary>
    Off,

    /// <summary>
    /// Decode at the smallest scale that still leaves twice the resized size, so the antialiased resampler shrinks by
    /// 2 or more after it: about as fast as <see cref="Fast"/> on large photos, and closer to torchvision's output.
    /// </summary>
    Balanced,

    /// <summary>Decode at the smallest scale whose pixels still cover the resized size: fastest, furthest from torchvision.</summary>
    Fast,
}
