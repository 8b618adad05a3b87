using System.Runtime.InteropServices;

namespace StreamingLoader.Images.Geometry;

/// <summary>
/// Where an image's output comes from: the output is the window (WindowX, WindowY, Width, Height) of the source box
/// (BoxX, BoxY, BoxWidth, BoxHeight) resampled to ResizedWidth × ResizedHeight, mirrored when Flip is set. A window
/// reaching outside the resized box is padded with black.
/// </summary>
[StructLayout(LayoutKind.Auto)]
internal struct GeometryPlan
{
    public int SourceWidth;
    public int SourceHeight;
    public int BoxX;
    public int BoxY;
    public int BoxWidth;
    public int BoxHeight;
    public bool Resized;
    public int ResizedWidth;
    public int ResizedHeight;
    public int WindowX;
    public int WindowY;
    public int Width;
    public int Height;
    public bool Flip;

    public static GeometryPlan Identity(int width, int height) => new()
    {
        SourceWidth = width,
        SourceHeight = height,
        BoxWidth = width,
        BoxHeight = height,
        ResizedWidth = width,
        ResizedHeight = height,
        Width = width,
        Height = height,
    };

    /// <summary>Gets whether the window lies inside the resized box, so nothing is padded.</summary>
    public readonly bool IsInside =>
        WindowX >= 0 && WindowY >= 0 && WindowX + Width <= ResizedWidth && WindowY + Height <= ResizedHeight;

    /// <summary>Crops the current image (torchvision's <c>crop(top, left, height, width)</c>); outside it is black.</summary>
    public void Crop(int top, int left, int height, int width)
    {
        if (Flip)
        {
            left = Width - left - width;
        }

        if (!Resized && left >= 0 && top >= 0 && left + width <= Width && top + height <= Height)
        {
            // Before any resize a crop only narrows the source box: the decoder never reads what is cut away.
            BoxX += left;
            BoxY += top;
            BoxWidth = ResizedWidth = Width = width;
            BoxHeight = ResizedHeight = Height = height;
            return;
        }

        // A crop that pads, or one after a resize, picks a window of the resampled box.
        Resized = true;
        WindowX += left;
        WindowY += top;
        Width = width;
        Height = height;
    }

    /// <summary>Resamples the current image to <paramref name="width"/> × <paramref name="height"/>.</summary>
    public void Resize(int width, int height)
    {
        if (Resized)
        {
            throw new InvalidOperationException(
                "A transform resizes an image that was already resized or padded; compose at most one Resize or RandomResizedCrop, with crops that pad after it.");
        }

        Resized = true;
        ResizedWidth = Width = width;
        ResizedHeight = Height = height;
        WindowX = WindowY = 0;
    }
}
