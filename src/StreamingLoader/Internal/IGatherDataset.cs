using System.Runtime.CompilerServices;

namespace StreamingLoader.Internal;

/// <summary>
/// A dataset that writes the samples at given indices straight into a batch (a row gather), skipping the sample
/// objects; the loader uses it when nothing transforms the samples and the collation is a plain copy.
/// </summary>
internal interface IGatherDataset
{
    /// <summary>Writes sample <c>indices[i]</c> into slot i of <paramref name="batch"/>.</summary>
    void Gather(ReadOnlySpan<long> indices, Batch batch);
}
