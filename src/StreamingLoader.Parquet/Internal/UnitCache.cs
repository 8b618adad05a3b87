namespace StreamingLoader.Parquet.Internal;

/// <summary>
/// The decoded units (row groups, record batches) a reader works on, at most <c>capacity</c> of them: the sampler's
/// window keeps the units a batch needs few, so each unit is decoded about once per epoch, never per sample. A unit
/// is decoded by the first thread that needs it (or ahead of need by <see cref="Warm"/>) while the others wait for
/// it; a failed decode is kept (until evicted) so the unit's other samples fail at once with the same error. Units in
/// use are not evicted; evicted units go back to the pool.
/// </summary>
internal sealed class UnitCache(int capacity, UnitPool pool, Action<int, ColumnUnit> decode)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<int, Entry> _entries = [];
    private readonly LinkedList<int> _recent = new();
    private long _decodes;

    /// <summary>Gets how many units were decoded.</summary>
    public long Decodes => Interlocked.Read(ref _decodes);

    /// <summary>Gets the pool the units come from.</summary>
    public UnitPool Pool => pool;

    /// <summary>The decoded unit, held until <see cref="Release"/>.</summary>
    public ColumnUnit Acquire(int unit)
    {
        var entry = Enter(unit, hold: true, out var mine)!;
        if (mine)
        {
            Fill(entry, unit);
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

    /// <summary>
    /// Decodes <paramref name="unit"/> on this thread unless it is cached or being decoded, and only while there is room
    /// for it beside the units in use (a unit decoded ahead must not push out one a batch is about to read).
    /// </summary>
    public void Warm(int unit)
    {
        var entry = Enter(unit, hold: false, out var mine);
        if (mine)
        {
            Fill(entry!, unit);
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

    /// <summary>Returns every decoded unit nobody holds to the pool (releasing what its views depend on, a mapped file).</summary>
    public void Clear()
    {
        List<ColumnUnit> freed = [];
        lock (_lock)
        {
            foreach (var (unit, entry) in _entries.ToList())
            {
                if (entry.Users == 0 && entry.Ready.Task.IsCompleted)
                {
                    _entries.Remove(unit);
                    _recent.Remove(entry.Node);
                    if (entry.Ready.Task.IsCompletedSuccessfully)
                    {
                        freed.Add(entry.Ready.Task.Result);
                    }
                    else
                    {
                        _ = entry.Ready.Task.Exception;
                    }
                }
            }
        }

        freed.ForEach(pool.Return);
    }

    private Entry? Enter(int unit, bool hold, out bool mine)
    {
        mine = false;
        lock (_lock)
        {
            if (_entries.TryGetValue(unit, out var entry))
            {
                _recent.Remove(entry.Node);
                _recent.AddFirst(entry.Node);
            }
            else
            {
                if (!hold && _entries.Count >= capacity && !HasEvictable())
                {
                    return null;
                }

                entry = new Entry(new LinkedListNode<int>(unit));
                _entries.Add(unit, entry);
                _recent.AddFirst(entry.Node);
                mine = true;
            }

            if (hold)
            {
                entry.Users++;
            }

            return entry;
        }
    }

    private void Fill(Entry entry, int unit)
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

    private bool HasEvictable()
    {
        foreach (var entry in _entries.Values)
        {
            if (entry.Users == 0 && entry.Ready.Task.IsCompleted)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Evicts the least recently used units nobody holds until at most <c>capacity</c> remain.</summary>
    private void Trim()
    {
        List<ColumnUnit>? freed = null;
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
                    else
                    {
                        // Observed: the samples that needed it reported it.
                        _ = entry.Ready.Task.Exception;
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

        public TaskCompletionSource<ColumnUnit> Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Users { get; set; }
    }
}
