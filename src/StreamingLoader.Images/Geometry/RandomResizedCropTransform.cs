namespace StreamingLoader.Images.Geometry;

/// <summary>torchvision's <c>RandomResizedCrop(size, scale, ratio)</c> with its sampling and its center-crop fallback.</summary>
internal sealed class RandomResizedCropTransform(int size, double minScale, double maxScale, double minRatio, double maxRatio) : GeometricTransform
{
    private readonly double _logMinRatio = Math.Log(minRatio);
    private readonly double _logMaxRatio = Math.Log(maxRatio);

    public override bool Resamples => true;

    public override (int Height, int Width)? FixedSize(in (int Height, int Width)? input) => (size, size);

    public override void Apply(ref GeometryPlan plan, CounterRandom random)
    {
        var (top, left, height, width) = SampleBox(plan.Width, plan.Height, random);
        plan.Crop(top, left, height, width);
        plan.Resize(size, size);
    }

    /// <summary>torchvision 0.14's <c>RandomResizedCrop.get_params</c>: (top, left, height, width).</summary>
    internal (int Top, int Left, int Height, int Width) SampleBox(int imageWidth, int imageHeight, CounterRandom random)
    {
        double area = (double)imageWidth * imageHeight;
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var targetArea = area * (minScale + ((maxScale - minScale) * random.NextDouble()));
            var aspect = Math.Exp(_logMinRatio + ((_logMaxRatio - _logMinRatio) * random.NextDouble()));
            var w = (int)Math.Round(Math.Sqrt(targetArea * aspect), MidpointRounding.ToEven);
            var h = (int)Math.Round(Math.Sqrt(targetArea / aspect), MidpointRounding.ToEven);
            if (w > 0 && w <= imageWidth && h > 0 && h <= imageHeight)
            {
                var top = random.NextInt32(imageHeight - h + 1);
                var left = random.NextInt32(imageWidth - w + 1);
                return (top, left, h, w);
            }
        }

        // Fallback: a center crop, clamped to the ratio range.
        var inRatio = (double)imageWidth / imageHeight;
        int cw, ch;
        if (inRatio < minRatio)
        {
            cw = imageWidth;
            ch = (int)Math.Round(cw / minRatio, MidpointRounding.ToEven);
        }
        else if (inRatio > maxRatio)
        {
            ch = imageHeight;
            cw = (int)Math.Round(ch * maxRatio, MidpointRounding.ToEven);
        }
        else
        {
            (cw, ch) = (imageWidth, imageHeight);
        }

        return ((imageHeight - ch) / 2, (imageWidth - cw) / 2, ch, cw);
    }

    public override string ToString() => $"RandomResizedCrop({size}, scale=({minScale}, {maxScale}), ratio=({minRatio}, {maxRatio}))";
}
