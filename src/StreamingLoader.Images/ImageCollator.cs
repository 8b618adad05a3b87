using StreamingLoader.Batching;

namespace StreamingLoader.Images;

/// <summary>
/// Decodes and transforms each image straight into its batch slot: Float32 [channels, height, width] features and an
/// Int64 label. The output size comes from the transforms, or when they do not fix it from the first sample, so the
/// transforms must give every image that size.
/// </summary>
internal sealed class ImageCollator(ImageProcessor processor) : Collator<ImageSample>
{
    private int _height;

    /// <summary>Gets the processor, whose workspaces the memory tests inspect.</summary>
    internal ImageProcessor Processor => processor;
    private int _width;

    public override BatchLayout GetLayout(ImageSample firstSample)
    {
        // Known from the transforms alone when they end with a crop or an exact resize: then a bad first file is only
        // a bad sample, not a failed layout.
        var (height, width) = processor.FixedSize ?? processor.OutputSize(firstSample.File.Path, firstSample.Context);
        (_height, _width) = (height, width);
        return new BatchLayout(ElementType.Float32, [processor.Channels, height, width], ElementType.Int64, []);
    }

    public override void Write(in ImageSample sample, int slot, Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        processor.Process(sample.File.Path, sample.Context, batch.Features.Sample<float>(slot), _height, _width);
        batch.Labels.Sample<long>(slot)[0] = sample.File.Label;
    }
}
