using System.Runtime.InteropServices;

namespace StreamingLoader.Images;

/// <summary>
/// An image file on its way to the batch, with the context that keys its random augmentation. The image is decoded
/// in the collator, straight into the batch slot, once the crop is planned.
/// </summary>
/// <param name="File">The file and its label.</param>
/// <param name="Context">The sample's (seed, epoch, index) context; its generator draws the random crop and flip.</param>
[StructLayout(LayoutKind.Auto)]
public readonly record struct ImageSample(ImageFile File, SampleContext Context);
