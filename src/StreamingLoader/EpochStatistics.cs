namespace StreamingLoader;

/// <summary>
/// Where every sample of an epoch went: each sample the loader read ends delivered in a batch, skipped (a
/// <see cref="DeadLetter"/>), failed (the error the consumer got) or dropped, so that for an epoch read to its end,
/// and for every epoch once the loader has stopped (disposed, or failed and its stages ended), under every
/// <see cref="ErrorPolicy"/>, <c>Read = Delivered + Skipped + Failed + Dropped</c> and <see cref="InFlight"/> is 0.
/// </summary>
/// <param name="Epoch">The epoch.</param>
/// <param name="Read">Samples taken from the source: indices from the sampler (map-style), or items from the iterable source.</param>
/// <param name="Delivered">Samples in batches handed to the consumer.</param>
/// <param name="Skipped">Samples dropped under <see cref="ErrorPolicy.Skip"/>, each with its dead letter, counted when the consumer passed their batch's place.</param>
/// <param name="Failed">Samples that failed under <see cref="ErrorPolicy.Fail"/>: the first one's error stopped the loader.</param>
/// <param name="Dropped">
/// Samples read but not wanted: the last partial batch of an iterable source under <see cref="LoaderOptions.DropLast"/>,
/// batches left when an epoch's read stopped early, and, once the loader stopped (an error, disposal), the samples it
/// had read ahead and never delivered.
/// </param>
/// <param name="Retried">Retries made under <see cref="LoaderOptions.Retry"/> (attempts after the first).</param>
/// <param name="NonFiniteValues">NaN and infinite feature values delivered under <see cref="NonFiniteNumbers.Count"/>.</param>
/// <remarks>
/// A resumed loader counts from its resume point: its <see cref="Read"/> excludes the samples its state says were
/// passed already, so the counts of the loader that saved the state plus those of the resumed one count each sample
/// of the epoch once.
/// </remarks>
public sealed record EpochStatistics(long Epoch, long Read, long Delivered, long Skipped, long Failed, long Dropped, long Retried, long NonFiniteValues)
{
    /// <summary>
    /// Gets the samples read but not yet accounted for: in the pipeline now. 0 once the loader stopped, except for
    /// samples that user code abandoned at disposal still holds (<see cref="DataLoader.AbandonedWork"/>): they are
    /// counted as dropped when that code returns.
    /// </summary>
    public long InFlight => Read - Delivered - Skipped - Failed - Dropped;
}
