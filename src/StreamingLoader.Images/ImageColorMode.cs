namespace StreamingLoader.Images;

/// <summary>The channels images are converted to, as PIL's <c>Image.convert</c> does before the transforms.</summary>
public enum ImageColorMode
{
    /// <summary>Three channels, red, green and blue (torchvision's default loader converts every image to RGB).</summary>
    Rgb,

    /// <summary>One channel of luma (PIL's mode "L": 0.299 R + 0.587 G + 0.114 B).</summary>
    Grayscale,
}
