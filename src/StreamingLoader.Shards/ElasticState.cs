using System.Text.Json;
using System.Text.Json.Serialization;

namespace StreamingLoader.Shards;

/// <summary>
/// A sharded run's position that does not depend on the number of ranks: the epoch, and what of it was read at
/// which world size. Save it with a checkpoint (<see cref="ShardedBatchSampler.Checkpoint"/>); pass it to
/// <see cref="ShardedBatchSampler.Create"/> at any world size to go on with no sample of the epoch lost or repeated.
/// </summary>
/// <param name="Seed">The loader's seed.</param>
/// <param name="Epoch">The epoch being read.</param>
/// <param name="BatchSize">The batch size on each rank.</param>
/// <param name="Samples">The samples in the dataset, to check a resume against the same data.</param>
/// <param name="DropLast">Whether the epoch's tail was dropped rather than padded.</param>
/// <param name="Segments">The parts of <paramref name="Epoch"/> read so far, in order; empty at its start.</param>
public sealed record ElasticState(ulong Seed, long Epoch, int BatchSize, int Samples, bool DropLast, IReadOnlyList<ElasticSegment> Segments)
{
    /// <inheritdoc/>
    public bool Equals(ElasticState? other) =>
        other is not null && (Seed, Epoch, BatchSize, Samples, DropLast) == (other.Seed, other.Epoch, other.BatchSize, other.Samples, other.DropLast)
        && Segments.SequenceEqual(other.Segments);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Seed, Epoch, BatchSize, Samples, DropLast, Segments.Count);

    /// <summary>Serializes the state as JSON, to keep with a checkpoint.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, ElasticStateJson.Default.ElasticState);

    /// <summary>Reads a state written by <see cref="ToJson"/>.</summary>
    public static ElasticState FromJson(string json) =>
        JsonSerializer.Deserialize(json, ElasticStateJson.Default.ElasticState) ?? throw new JsonException("The JSON holds no elastic state.");
}

[JsonSerializable(typeof(ElasticState))]
internal sealed partial class ElasticStateJson : JsonSerializerContext;
