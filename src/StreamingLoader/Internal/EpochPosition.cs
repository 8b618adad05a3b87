namespace StreamingLoader.Internal;

/// <summary>
/// Where the consumer is in an epoch, in chunks (sampler batches): every chunk before <c>NextBatch</c> was delivered,
/// and so were those in the ahead set, which an unordered loader fills as batches overtake each other. Skipped-empty
/// chunks count as delivered, so the position always names sampler batches and a resume is exact.
/// </summary>
internal sealed class EpochPosition
{
    private readonly SortedSet<int> _ahead = [];
    private int _next;

    public EpochPosition(LoaderState start)
    {
        _next = start.NextBatch;
        _ahead.UnionWith(start.DeliveredAhead ?? []);
        Advance();
    }

    /// <summary>The chunk <paramref name="sequence"/> of the current epoch was delivered.</summary>
    public void Deliver(int sequence)
    {
        if (sequence == _next && _ahead.Count == 0)
        {
            // In order: the common case, without touching the set.
            _next++;
            return;
        }

        _ahead.Add(sequence);
        Advance();
    }

    public LoaderState Apply(LoaderState state) => state with { NextBatch = _next, DeliveredAhead = _ahead.Count == 0 ? null : [.. _ahead] };

    /// <summary>Starts the next epoch at its beginning.</summary>
    public void NextEpoch()
    {
        _next = 0;
        _ahead.Clear();
    }

    private void Advance()
    {
        while (_ahead.Remove(_next))
        {
            _next++;
        }
    }
}
