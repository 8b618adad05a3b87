namespace StreamingLoader.Parquet.Internal;

/// <summary>
/// The decoded units (row groups, record batches) a reader works on, at most <c>capacity</c> of them: the sampler's
/// window keeps the units a batch needs few, so each unit is decoded about once per epoch, never per sample. A unit
/// is decoded by the first thread that needs it while the others wait for it; a failed decode is kept (until evicted)
/// so the unit's other samples fail at once with the same error. Units in use are not evicted; evicted units' arrays
/// go back to the pool.
/// </summary>
internal sealed class UnitCache(int capacity, UnitPool pool, Action<int, DecodedUnit> decode)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, Entry> _entries = [];
    private readonly LinkedList<int> _recent = new();
    private long _decodes;

    /// <summary>Gets how many units were decoded.</summary>
    public long Decodes => Interlocked.Read(ref _decodes);

    /// <summary>The decoded unit, held until <see cref="Release"/>.</summary>
    public DecodedUnit Acquire(int unit)
    {
        Entry entry;
        var mine = false;
        lock (_lock)
        {
            if (_entries.TryGetValue(unit, out var found))
            {
                entry = found;
                _recent.Remove(entry.Node);
                _recent.AddFirst(entry.Node);
            }
            else
            {
                entry = new Entry(new LinkedListNode<int>(unit));
                _entries.Add(unit, entry);
                _recent.AddFirst(entry.Node);
                mine = true;
            }

            entry.Users++;
        }

        if (mine)
        {
            var buffers = pool.Rent();
            try
            {
                decode(unit, buffers);
                Interlocked.Increment(ref _decodes);
                entry.Ready.SetResult(buffers);
            }
            catch (Exception ex)
            {
                pool.Return(buffers);
                entry.Ready.SetException(ex);
            }

            Trim();
        }

        try
        {
            return entry.Ready.Task.GetAwaiter().GetResult();
        }
        catch
        {
            Release(unit);
            throw;
        }
    }

    public void Release(int unit)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(unit, out var entry))
            {
                entry.Users--;
            }
        }

        Trim();
    }

    /// <summary>Evicts the least recently used units nobody holds until at most <c>capacity</c> remain.</summary>
    private void Trim()
    {
        List<DecodedUnit>? freed = null;
        lock (_lock)
        {
            for (var node = _recent.Last; node is not null && _entries.Count > capacity;)
            {
                var previous = node.Previous;
                var entry = _entries[node.Value];
                if (entry.Users == 0 && entry.Ready.Task.IsCompleted)
                {
                    _entries.Remove(node.Value);
                    _recent.Remove(node);
                    if (entry.Ready.Task.IsCompletedSuccessfully)
                    {
                        (freed ??= []).Add(entry.Ready.Task.Result);
                    }
                }

                node = previous;
            }
        }

        foreach (var unit in freed ?? [])
        {
            pool.Return(unit);
        }
    }

    private sealed class Entry(LinkedListNode<int> node)
    {
        public LinkedListNode<int> Node { get; } = node;

        public TaskCompletionSource<DecodedUnit> Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Users { get; set; }
    }
}
