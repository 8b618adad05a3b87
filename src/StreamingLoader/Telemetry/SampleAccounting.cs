namespace StreamingLoader;

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

/// <summary>
/// Per-epoch tallies of <see cref="Tally"/>, and the running totals the metrics observe. One lock for all:
/// it is taken once per chunk or batch, not per sample.
/// </summary>
internal sealed class SampleAccounting
{
    private const int Outcomes = (int)Tally.NonFinite + 1;

    private readonly Lock _lock = new();
    private readonly SortedDictionary<long, long[]> _epochs = [];
    private readonly long[] _totals = new long[Outcomes];

    public void Add(long epoch, Tally outcome, long count)
    {
        if (count == 0)
        {
            return;
        }

        lock (_lock)
        {
            if (!_epochs.TryGetValue(epoch, out var tallies))
            {
                _epochs[epoch] = tallies = new long[Outcomes];
            }

            tallies[(int)outcome] += count;
            _totals[(int)outcome] += count;
        }
    }

    public long Total(Tally outcome)
    {
        lock (_lock)
        {
            return _totals[(int)outcome];
        }
    }

    public IReadOnlyList<EpochStatistics> Snapshot()
    {
        lock (_lock)
        {
            return [.. _epochs.Select(e => new EpochStatistics(e.Key, e.Value[0], e.Value[1], e.Value[2], e.Value[3], e.Value[4], e.Value[5], e.Value[6]))];
        }
    }
}
