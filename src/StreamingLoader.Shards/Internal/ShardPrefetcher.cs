namespace StreamingLoader.Shards.Internal;

/// <summary>
/// Downloads the shards this rank reads next while it reads the current ones: given the epoch's shard order, it keeps
/// <c>inFlight</c> downloads running, in that order, from the shard the reader has reached onwards, and starts the
/// next one as soon as one ends (a gap between downloads is time the network is idle). It goes no further ahead than
/// <c>maxBytesAhead</c> of shards not yet reached, so a cache smaller than an epoch is not filled with shards that
/// push out the ones being read. A failed prefetch is left to the read that needs the shard (which retries and
/// reports it). Every task it starts is awaited when it is disposed.
/// </summary>
internal sealed class ShardPrefetcher(int inFlight, long maxBytesAhead, Func<int, long> length, Func<int, CancellationToken, Task> fetch) : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Dictionary<int, Task> _running = [];
    private readonly HashSet<int> _done = [];
    private readonly HashSet<Task> _all = [];
    private int[] _order = [];
    private int _position = -1;

    /// <summary>Sets the order the shards will be read in, and starts fetching the first ones.</summary>
    public void Plan(IReadOnlyList<int> order)
    {
        lock (_lock)
        {
            _order = [.. order];
            _position = -1;
            _done.Clear();
            StartAhead();
        }
    }

    /// <summary>The reader has reached <paramref name="shard"/>: fetch the ones after it.</summary>
    public void Reading(int shard)
    {
        lock (_lock)
        {
            var at = Array.IndexOf(_order, shard, Math.Max(0, _position));
            if (at > _position)
            {
                _position = at;
                StartAhead();
            }
        }
    }

    /// <summary>Whether a download of <paramref name="shard"/> started here is under way.</summary>
    public bool IsFetching(int shard)
    {
        lock (_lock)
        {
            return _running.ContainsKey(shard);
        }
    }

    private void StartAhead()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        long ahead = 0;
        for (var k = _position + 1; k < _order.Length && _running.Count < inFlight; k++)
        {
            var shard = _order[k];
            ahead += length(shard);
            if (ahead > maxBytesAhead && k > _position + 1)
            {
                break;
            }

            if (_running.ContainsKey(shard) || _done.Contains(shard))
            {
                continue;
            }

            var task = Task.Run(() => RunAsync(shard), CancellationToken.None);
            _running[shard] = task;
            _all.Add(task);
        }
    }

    private async Task RunAsync(int shard)
    {
        try
        {
            await fetch(shard, _stop.Token).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // The read that needs the shard fetches it again and reports the error.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
        finally
        {
            lock (_lock)
            {
                _running.Remove(shard);
                _done.Add(shard);
                _all.RemoveWhere(t => t.IsCompleted);
                StartAhead();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        Task[] pending;
        lock (_lock)
        {
            pending = [.. _all];
        }

        await Task.WhenAll(pending).ConfigureAwait(false);
        _stop.Dispose();
    }
}
