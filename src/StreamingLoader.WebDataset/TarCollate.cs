using StreamingLoader.Batching;
using StreamingLoader.Images;
using StreamingLoader.WebDataset.Internal;

namespace StreamingLoader.WebDataset;

/// <summary>The tar image collator, as <c>Collate.TarImages(transform)</c>.</summary>
public static class TarCollate
{
    extension(Collate)
    {
        /// <summary>
        /// A collator that decodes each tar sample's image (its first member among
        /// <see cref="TarImageOptions.ImageExtensions"/>), applies <paramref name="transform"/> (which must end with
        /// <see cref="ImageTransform.ToTensor"/>, optionally followed by <see cref="ImageTransform.Normalize"/>) and writes
        /// the Float32 tensor [channels, height, width] into the batch's <c>features</c>; labels are Int64 [n], from the
        /// .cls member (or a .json member's property). Errors name the shard and the member.
        /// </summary>
        public static Collator<TarImageSample> TarImages(ImageTransform transform, TarImageOptions? options = null)
        {
            ArgumentNullException.ThrowIfNull(transform);
            options ??= new TarImageOptions();
            return new TarImageCollator(ImageProcessor.Create(transform, options.Images), options);
        }
    }
}
