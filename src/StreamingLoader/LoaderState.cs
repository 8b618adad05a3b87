using System.Text.Json.Serialization;
using System.Text.Json;

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
/// <param name="DeliveredAhead">
/// Batches of the epoch after <paramref name="NextBatch"/> that were already delivered, in ascending order: an
/// unordered loader delivers batches as they finish, so its position is every batch before NextBatch plus these.
/// Empty for an ordered loader.
/// </param>
/// <param name="BatchSize">
/// The largest batch, to check a resume against the same configuration: an iterable source's position is counted
/// in batches of this size. 0 in a state saved before it was recorded (then not checked).
/// </param>
/// <remarks>
/// For a map-style dataset the state is exact in every mode that accepts it. For an iterable source (which has no
/// epoch size: <paramref name="BatchesPerEpoch"/> and <paramref name="SamplesPerEpoch"/> are -1) a resumed loader
/// reads the source anew from its start and passes over the items of the batches delivered: exact when the source
/// yields the same items in the same order each time it is read (a file, a generated sequence).
/// </remarks>
public sealed record LoaderState(long Epoch, int NextBatch, ulong Seed, int BatchesPerEpoch, int SamplesPerEpoch, IReadOnlyList<int>? DeliveredAhead = null, int BatchSize = 0)
{
    /// <summary>
    /// Gets what decides the order of the batches: the source, the sampler and its parameters (shuffled or not), the
    /// batch size and drop-last, the shuffle buffer, length buckets, packing. A loader refuses a state whose ordering
    /// differs from its own, since it would skip or repeat samples. Null in a state saved before it was recorded (then
    /// not checked).
    /// </summary>
    public string? Ordering { get; init; }

    /// <summary>Whether batch <paramref name="batch"/> of <see cref="Epoch"/> was delivered before this state.</summary>
    internal bool Delivered(int batch) => batch < NextBatch || (DeliveredAhead?.Contains(batch) ?? false);

    /// <inheritdoc/>
    public bool Equals(LoaderState? other) =>
        other is not null && (Epoch, NextBatch, Seed, BatchesPerEpoch, SamplesPerEpoch, BatchSize, Ordering) == (other.Epoch, other.NextBatch, other.Seed, other.BatchesPerEpoch, other.SamplesPerEpoch, other.BatchSize, other.Ordering)
        && (DeliveredAhead ?? []).SequenceEqual(other.DeliveredAhead ?? []);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Epoch, NextBatch, Seed, BatchesPerEpoch, SamplesPerEpoch, DeliveredAhead?.Count ?? 0, BatchSize);

    /// <summary>Serializes the state as JSON, to keep with a checkpoint.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, LoaderStateJson.Default.LoaderState);

    /// <summary>Reads a state written by <see cref="ToJson"/>.</summary>
    public static LoaderState FromJson(string json) =>
        JsonSerializer.Deserialize(json, LoaderStateJson.Default.LoaderState) ?? throw new JsonException("The JSON holds no loader state.");
}
