using System.Text.Json;
using System.Text.Json.Serialization;

namespace StreamingLoader;

/// <summary>
/// A loader's position after a delivered batch: enough to resume exactly where it stopped, with no sample
/// repeated or skipped, because every epoch's order is a function of the seed and the epoch.
/// </summary>
/// <param name="Epoch">The epoch of the next batch.</param>
/// <param name="NextBatch">The index within that epoch of the next batch.</param>
/// <param name="Seed">The loader's seed.</param>
/// <param name="BatchesPerEpoch">Batches in a whole epoch, to check a resume against the same configuration.</param>
/// <param name="SamplesPerEpoch">Samples in a whole epoch, likewise.</param>
public sealed record LoaderState(long Epoch, int NextBatch, ulong Seed, int BatchesPerEpoch, int SamplesPerEpoch)
{
    /// <summary>Serializes the state as JSON, to keep with a checkpoint.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, LoaderStateJson.Default.LoaderState);

    /// <summary>Reads a state written by <see cref="ToJson"/>.</summary>
    public static LoaderState FromJson(string json) =>
        JsonSerializer.Deserialize(json, LoaderStateJson.Default.LoaderState) ?? throw new JsonException("The JSON holds no loader state.");
}

[JsonSerializable(typeof(LoaderState))]
internal sealed partial class LoaderStateJson : JsonSerializerContext;
