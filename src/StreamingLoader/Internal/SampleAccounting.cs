namespace StreamingLoader.Internal;

/// <summary>
/// Per-epoch tallies of <see cref="Tally"/>, and the running totals the metrics observe. Adding is an interlocked add
/// into the epoch's counters, found through a cache per tally (the producer counts reads in the epoch it is reading,
/// the consumer deliveries in an earlier one); only the first add of a tally in a new epoch takes the lock.
/// </summary>
internal sealed class SampleAccounting
{
    private const int Tallies = (int)Tally.NonFinite + 1;

    private readonly Lock _lock = new();
    private readonly SortedDictionary<long, EpochTallies> _epochs = [];
    private readonly long[] _totals = new long[Tallies];
    private readonly EpochTallies?[] _recent = new EpochTallies?[Tallies];

    public void Add(long epoch, Tally tally, long count)
    {
        if (count == 0)
        {
            return;
        }

        var tallies = Volatile.Read(ref _recent[(int)tally]);
        if (tallies is null || tallies.Epoch != epoch)
        {
            tallies = Epoch(epoch);
            Volatile.Write(ref _recent[(int)tally], tallies);
        }

        Interlocked.Add(ref tallies.Counts[(int)tally], count);
        Interlocked.Add(ref _totals[(int)tally], count);
    }

    public long Total(Tally tally) => Interlocked.Read(ref _totals[(int)tally]);

    public IReadOnlyList<EpochStatistics> Snapshot()
    {
        lock (_lock)
        {
            return [.. _epochs.Values.Select(e => e.ToStatistics())];
        }
    }

    /// <summary>
    /// Closes the books of a loader that stopped (an error, a cancellation, disposal) with nothing of it still running:
    /// each sample it read and never delivered, skipped or failed was read ahead and is now dropped, so that
    /// <c>Read = Delivered + Skipped + Failed + Dropped</c> holds for every epoch. Adds nothing a second time.
    /// </summary>
    public void SettleStopped()
    {
        lock (_lock)
        {
            foreach (var tallies in _epochs.Values)
            {
                var inFlight = tallies.ToStatistics().InFlight;
                if (inFlight > 0)
                {
                    Add(tallies.Epoch, Tally.Dropped, inFlight);
                }
            }
        }
    }

    private EpochTallies Epoch(long epoch)
    {
        lock (_lock)
        {
            if (!_epochs.TryGetValue(epoch, out var tallies))
            {
                _epochs[epoch] = tallies = new EpochTallies(epoch);
            }

            return tallies;
        }
    }

    private sealed class EpochTallies(long epoch)
    {
#pragma warning disable CA1051 // A field, so that adds can be interlocked.
        public readonly long[] Counts = new long[Tallies];
#pragma warning restore CA1051

        public long Epoch => epoch;

        public EpochStatistics ToStatistics()
        {
            long Get(Tally tally) => Interlocked.Read(ref Counts[(int)tally]);

            // Outcomes before reads: a sample is read before its outcome, so a snapshot taken while the loader runs
            // never shows more outcomes than reads.
            var (delivered, skipped, failed, dropped) = (Get(Tally.Delivered), Get(Tally.Skipped), Get(Tally.Failed), Get(Tally.Dropped));
            return new EpochStatistics(epoch, Get(Tally.Read), delivered, skipped, failed, dropped, Get(Tally.Retried), Get(Tally.NonFinite));
        }
    }
}
