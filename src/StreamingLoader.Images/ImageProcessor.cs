using StreamingLoader.Images.Decoding;
using StreamingLoader.Images.Geometry;

namespace StreamingLoader.Images;

/// <summary>
/// Runs a composed transform on one image file: reads the declared size, plans the geometry with the sample's random
/// generator, decodes (a large JPEG at a reduced scale when <see cref="ImageFolderOptions.DecodeScaling"/> allows it),
/// resamples once and writes normalized CHW floats.
/// </summary>
internal sealed class ImageProcessor
{
    private readonly GeometricTransform[] _geometry;
    private readonly float[] _multiply;
    private readonly float[] _add;
    private readonly ImageFolderOptions _options;
    private readonly double _scaleMargin;

    private ImageProcessor(GeometricTransform[] geometry, float[] multiply, float[] add, ImageFolderOptions options)
    {
        _geometry = geometry;
        _multiply = multiply;
        _add = add;
        _options = options;
        Channels = multiply.Length;
        JpegDecoder = ResolveJpegDecoder(options.JpegDecoder);
        _scaleMargin = options.DecodeScaling switch
        {
            DecodeScaling.Balanced => 2.0,
            DecodeScaling.Fast => 1.0,
            _ => 0,
        };
    }

    public int Channels { get; }

    /// <summary>Gets the decoder JPEGs go to: <see cref="Images.JpegDecoder.TurboJpeg"/> or <see cref="Images.JpegDecoder.Skia"/>.</summary>
    public JpegDecoder JpegDecoder { get; }

    /// <summary>Gets the workspaces lent to the images in flight.</summary>
    public WorkspacePool Workspaces { get; } = new();

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

    /// <summary>The decoder <paramref name="requested"/> means on this machine; TurboJpeg when libturbojpeg is missing throws.</summary>
    /// <exception cref="DllNotFoundException">TurboJpeg was asked for and libturbojpeg cannot be loaded.</exception>
    public static JpegDecoder ResolveJpegDecoder(JpegDecoder requested) => requested switch
    {
        JpegDecoder.Auto => TurboJpeg.IsAvailable ? JpegDecoder.TurboJpeg : JpegDecoder.Skia,
        JpegDecoder.TurboJpeg when !TurboJpeg.IsAvailable => throw new DllNotFoundException(
            $"ImageFolderOptions.JpegDecoder is TurboJpeg, but {TurboJpeg.LoadError}; JpegDecoder.Auto would decode JPEGs with Skia instead."),
        _ => requested,
    };

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
            step.Apply(ref plan, random);
        }

        return plan;
    }

    /// <summary>Reads a file's header and returns its output size after the transforms.</summary>
    public (int Height, int Width) OutputSize(string path, in SampleContext context)
    {
        var workspace = Workspaces.Rent();
        try
        {
            var header = ReadHeader(workspace, path, out _);
            var plan = Plan(header.Width, header.Height, context);
            return (plan.Height, plan.Width);
        }
        finally
        {
            Workspaces.Return(workspace);
        }
    }

    /// <summary>Reads the header of an image held in memory (a tar member named <paramref name="name"/>) and returns its output size.</summary>
    public (int Height, int Width) OutputSize(ReadOnlySpan<byte> image, string name, in SampleContext context)
    {
        var workspace = Workspaces.Rent();
        try
        {
            var length = workspace.Load(image);
            var header = ImageDecoder.ReadHeader(workspace, length, name, _options.MaxPixels, JpegDecoder);
            var plan = Plan(header.Width, header.Height, context);
            return (plan.Height, plan.Width);
        }
        finally
        {
            Workspaces.Return(workspace);
        }
    }

    /// <summary>
    /// Decodes and transforms the file into <paramref name="destination"/> [Channels, height, width]; returns what
    /// was decoded, and by which decoder.
    /// </summary>
    public DecodedImage Process(string path, in SampleContext context, Span<float> destination, int height, int width)
    {
        var workspace = Workspaces.Rent();
        try
        {
            var header = ReadHeader(workspace, path, out var length);
            return Run(workspace, length, path, header, context, destination, height, width);
        }
        finally
        {
            Workspaces.Return(workspace);
        }
    }

    /// <summary>Decodes and transforms an image held in memory (a tar member named <paramref name="name"/>), as <see cref="Process(string, in SampleContext, Span{float}, int, int)"/>.</summary>
    public DecodedImage Process(ReadOnlySpan<byte> image, string name, in SampleContext context, Span<float> destination, int height, int width)
    {
        var workspace = Workspaces.Rent();
        try
        {
            var length = workspace.Load(image);
            var header = ImageDecoder.ReadHeader(workspace, length, name, _options.MaxPixels, JpegDecoder);
            return Run(workspace, length, name, header, context, destination, height, width);
        }
        finally
        {
            Workspaces.Return(workspace);
        }
    }

    private DecodedImage Run(Workspace workspace, int length, string path, ImageHeader header, in SampleContext context, Span<float> destination, int height, int width)
    {
        var plan = Plan(header.Width, header.Height, context);
        if (plan.Width != width || plan.Height != height)
        {
            throw new InvalidDataException(
                $"'{path}' ({header.Width} × {header.Height}) is {plan.Width} × {plan.Height} after the transforms, but the batch holds {width} × {height} images: end the transforms with a crop or an exact Resize(height, width).");
        }

        // The decoder may shrink the image as long as the box keeps _scaleMargin times its resized size.
        var minScaleX = Math.Min(1.0, _scaleMargin * plan.ResizedWidth / plan.BoxWidth);
        var minScaleY = Math.Min(1.0, _scaleMargin * plan.ResizedHeight / plan.BoxHeight);
        if (_scaleMargin == 0)
        {
            (minScaleX, minScaleY) = (1, 1);
        }

        var image = ImageDecoder.Decode(workspace, length, path, header, Channels, minScaleX, minScaleY);
        ImageMetrics.Record(image, header.Format);
        if (image.Warning is not null)
        {
            _options.OnWarning?.Invoke(path, image.Warning);
        }

        Resampler.Run(workspace, image, plan, _multiply, _add, destination);
        return image;
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

        return ImageDecoder.ReadHeader(workspace, length, path, _options.MaxPixels, JpegDecoder);
    }
}
