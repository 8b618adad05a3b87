using StreamingLoader.Images.Decoding;
using StreamingLoader.Images.Geometry;

namespace StreamingLoader.Images;

/// <summary>
/// Runs a composed transform on one image file: reads the declared size, plans the geometry with the sample's random
/// generator, decodes at the smallest scale that covers the output, resamples once and writes normalized CHW floats.
/// </summary>
internal sealed class ImageProcessor
{
    private readonly GeometricTransform[] _geometry;
    private readonly float[] _multiply;
    private readonly float[] _add;
    private readonly ImageFolderOptions _options;

    private ImageProcessor(GeometricTransform[] geometry, float[] multiply, float[] add, ImageFolderOptions options)
    {
        _geometry = geometry;
        _multiply = multiply;
        _add = add;
        _options = options;
        Channels = multiply.Length;
    }

    public int Channels { get; }

    /// <summary>Gets the output size when the transforms fix it for every image (they end with a crop or an exact resize).</summary>
    public (int Height, int Width)? FixedSize
    {
        get
        {
            (int Height, int Width)? size = null;
            foreach (var step in _geometry)
            {
                size = step.FixedSize(size);
            }

            return size;
        }
    }

    public static ImageProcessor Create(ImageTransform transform, ImageFolderOptions options)
    {
        var steps = transform.Flatten();
        var geometry = new List<GeometricTransform>();
        var toTensor = false;
        NormalizeTransform? normalize = null;
        foreach (var step in steps)
        {
            switch (step)
            {
                case GeometricTransform g when !toTensor:
                    geometry.Add(g);
                    break;
                case ToTensorTransform when !toTensor:
                    toTensor = true;
                    break;
                case NormalizeTransform n when toTensor && normalize is null:
                    normalize = n;
                    break;
                default:
                    throw new ArgumentException(
                        $"{step} cannot come here in {transform}: compose geometric transforms, then ToTensor() once, then at most one Normalize.", nameof(transform));
            }
        }

        if (!toTensor)
        {
            throw new ArgumentException($"{transform} does not end with ToTensor(): the batch holds Float32 tensors.", nameof(transform));
        }

        if (geometry.Count(g => g.Resamples) > 1)
        {
            throw new ArgumentException($"{transform} resizes more than once; compose at most one Resize or RandomResizedCrop.", nameof(transform));
        }

        var channels = options.ColorMode == ImageColorMode.Rgb ? 3 : 1;
        var multiply = new float[channels];
        var add = new float[channels];
        for (var c = 0; c < channels; c++)
        {
            var (mean, std) = (0f, 1f);
            if (normalize is not null)
            {
                if (normalize.Mean.Count != 1 && normalize.Mean.Count != channels)
                {
                    throw new ArgumentException($"{normalize} has {normalize.Mean.Count} values for images of {channels} channel(s).", nameof(transform));
                }

                mean = normalize.Mean[Math.Min(c, normalize.Mean.Count - 1)];
                std = normalize.Std[Math.Min(c, normalize.Std.Count - 1)];
            }

            multiply[c] = 1f / (255f * std);
            add[c] = -mean / std;
        }

        return new ImageProcessor([.. geometry], multiply, add, options);
    }

    /// <summary>Plans an image of the given size for a sample.</summary>
    public GeometryPlan Plan(int width, int height, in SampleContext context)
    {
        var random = context.Random();
        var plan = GeometryPlan.Identity(width, height);
        foreach (var step in _geometry)
        {
            step.Apply(ref plan, ref random);
        }

        return plan;
    }

    /// <summary>Reads a file's header and returns its output size after the transforms.</summary>
    public (int Height, int Width) OutputSize(string path, in SampleContext context)
    {
        var workspace = Workspace.Current;
        var header = ReadHeader(workspace, path, out _);
        var plan = Plan(header.Width, header.Height, context);
        return (plan.Height, plan.Width);
    }

    /// <summary>Decodes and transforms the file into <paramref name="destination"/> [Channels, height, width].</summary>
    public void Process(string path, in SampleContext context, Span<float> destination, int height, int width)
    {
        var workspace = Workspace.Current;
        var header = ReadHeader(workspace, path, out var length);
        var plan = Plan(header.Width, header.Height, context);
        if (plan.Width != width || plan.Height != height)
        {
            throw new InvalidDataException(
                $"'{path}' ({header.Width} × {header.Height}) is {plan.Width} × {plan.Height} after the transforms, but the batch holds {width} × {height} images: end the transforms with a crop or an exact Resize(height, width).");
        }

        // The decoder may shrink the image as long as the box still has at least as many pixels as its resized size.
        double minScaleX = 1, minScaleY = 1;
        if (_options.ScaledDecoding)
        {
            minScaleX = (double)plan.ResizedWidth / plan.BoxWidth;
            minScaleY = (double)plan.ResizedHeight / plan.BoxHeight;
        }

        var image = ImageDecoder.Decode(workspace, length, path, header, Channels, minScaleX, minScaleY);
        Resampler.Run(workspace, image, plan, _multiply, _add, destination);
    }

    private ImageHeader ReadHeader(Workspace workspace, string path, out int length)
    {
        try
        {
            length = workspace.ReadFile(path);
        }
        catch (IOException ex)
        {
            throw new InvalidDataException($"'{path}' could not be read: {ex.Message}", ex);
        }

        return ImageDecoder.ReadHeader(workspace, length, path, _options.MaxPixels, _options.UseTurboJpeg);
    }
}
