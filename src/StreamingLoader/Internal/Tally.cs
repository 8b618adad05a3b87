namespace StreamingLoader.Internal;

/// <summary>What the loader counts per epoch: what became of each sample read, and more (see <see cref="EpochStatistics"/>).</summary>
internal enum Tally
{
    Read,
    Delivered,
    Skipped,
    Failed,
    Dropped,
    Retried,
    NonFinite,
}
