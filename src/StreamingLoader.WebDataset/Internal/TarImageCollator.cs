using System.Globalization;
using System.Text;
using System.Text.Json;
using StreamingLoader.Batching;
using StreamingLoader.Images;

namespace StreamingLoader.WebDataset.Internal;

/// <summary>
/// Decodes and transforms each tar sample's image straight into its batch slot (Float32 [channels, height, width]
/// <c>features</c>) and writes its label (Int64 <c>labels</c>) from the .cls or .json member, as the image folder's
/// collator does. A sample that stands for a failed shard throws its error here, so the loader's error policy decides.
/// </summary>
internal sealed class TarImageCollator(ImageProcessor processor, TarImageOptions options) : Collator<TarImageSample>
{
    private int _height;
    private int _width;

    public override BatchLayout GetLayout(TarImageSample firstSample)
    {
        var (height, width) = processor.FixedSize ?? OutputSize(firstSample);
        (_height, _width) = (height, width);
        return new BatchLayout(ElementType.Float32, [processor.Channels, height, width], ElementType.Int64, []);
    }

    public override void Write(in TarImageSample sample, int slot, Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var tar = sample.Sample;
        ThrowIfFailed(tar);
        var (name, image) = Image(tar);
        processor.Process(image.Span, name, sample.Context, batch.Features.Sample<float>(slot), _height, _width);
        batch.Labels.Sample<long>(slot)[0] = Label(tar);
    }

    private (int Height, int Width) OutputSize(in TarImageSample sample)
    {
        ThrowIfFailed(sample.Sample);
        var (name, image) = Image(sample.Sample);
        return processor.OutputSize(image.Span, name, sample.Context);
    }

    private static void ThrowIfFailed(TarSample sample)
    {
        if (sample.Error is { } error)
        {
            throw new InvalidDataException(error.Message, error);
        }
    }

    /// <summary>The sample's image member and the name its errors carry (shard, then member).</summary>
    private (string Name, ReadOnlyMemory<byte> Bytes) Image(TarSample sample)
    {
        foreach (var extension in options.ImageExtensions)
        {
            if (sample.TryGetBytes(extension, out var bytes))
            {
                return ($"{sample.Shard}, member {sample.Key}.{extension}", bytes);
            }
        }

        throw new InvalidDataException($"The sample '{sample.Key}' of {sample.Shard} has no image member (.{string.Join(", .", options.ImageExtensions)}); it has .{string.Join(", .", sample.Extensions.Order(StringComparer.Ordinal))}.");
    }

    private long Label(TarSample sample)
    {
        var extension = options.LabelExtension;
        if (!sample.TryGetBytes(extension, out var bytes))
        {
            throw new InvalidDataException($"The sample '{sample.Key}' of {sample.Shard} has no .{extension} member (the label); it has .{string.Join(", .", sample.Extensions.Order(StringComparer.Ordinal))}.");
        }

        var where = $"The sample '{sample.Key}' of {sample.Shard}, member {sample.Key}.{extension}";
        if (extension.EndsWith("json", StringComparison.Ordinal))
        {
            try
            {
                using var document = JsonDocument.Parse(bytes);
                if (document.RootElement.ValueKind == JsonValueKind.Object
                    && document.RootElement.TryGetProperty(options.JsonLabelProperty, out var property)
                    && property.ValueKind == JsonValueKind.Number
                    && property.TryGetInt64(out var label))
                {
                    return label;
                }
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"{where}: not JSON ({ex.Message}).", ex);
            }

            throw new InvalidDataException($"{where}: no integer property '{options.JsonLabelProperty}' (TarImageOptions.JsonLabelProperty).");
        }

        var text = Encoding.UTF8.GetString(bytes.Span).Trim();
        return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new InvalidDataException($"{where}: '{(text.Length > 40 ? text[..40] + "…" : text)}' is not an integer class index.");
    }
}
