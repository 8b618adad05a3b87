namespace StreamingLoader.WebDataset;

/// <summary>A tar sample with its random context, as the image collator (<c>Collate.TarImages</c>) receives it.</summary>
/// <param name="Sample">The sample's members.</param>
/// <param name="Context">The sample's epoch, index and random generator, for random transforms.</param>
public readonly record struct TarImageSample(TarSample Sample, SampleContext Context);
