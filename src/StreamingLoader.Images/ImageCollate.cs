using StreamingLoader.Batching;

namespace StreamingLoader.Images;

/// <summary>The image collator, as <c>Collate.Images(folder, transform)</c>.</summary>
public static class ImageCollate
{
    extension(Collate)
    {
        /// <summary>
        /// A collator that decodes each sample of <paramref name="folder"/>, applies <paramref name="transform"/> (which must
        /// end with <see cref="ImageTransform.ToTensor"/>, optionally followed by <see cref="ImageTransform.Normalize"/>)
        /// and writes the Float32 tensor [channels, height, width] into the batch's <c>features</c>; labels are Int64 [n].
        /// </summary>
        public static Collator<ImageSample> Images(ImageFolder folder, ImageTransform transform)
        {
            ArgumentNullException.ThrowIfNull(folder);
            ArgumentNullException.ThrowIfNull(transform);
            return new ImageCollator(ImageProcessor.Create(transform, folder.Options));
        }
    }
}
