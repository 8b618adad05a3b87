namespace StreamingLoader.Internal;

/// <summary>
/// A <see cref="SemaphoreSlim"/> whose number of permits (its limit) changes while permits are held: the pool's
/// buffers and the autotuned workers. Raising the limit releases permits at once; lowering it takes free permits at
/// once and owes the rest, paid by the next releases, so holders are never interrupted and no wait is abandoned.
/// Asynchronous waiters are served first in, first out (<see cref="SemaphoreSlim"/>'s order).
/// </summary>
#pragma warning disable CA1001 // A SemaphoreSlim needs disposing only once its AvailableWaitHandle was created, which this never does.
internal sealed class ResizableSemaphore
#pragma warning restore CA1001
{
    private readonly SemaphoreSlim _permits;
    private readonly Lock _resize = new();
    private int _limit;
    private int _debt;

    public ResizableSemaphore(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        _limit = limit;
        _permits = new SemaphoreSlim(limit);
    }

    /// <summary>Gets the number of permits there are (held and free) once every debt is paid.</summary>
    public int Limit => Volatile.Read(ref _limit);

    /// <summary>Gets the permits still owed after the limit was lowered: the holders beyond the limit.</summary>
    public int Owed => Volatile.Read(ref _debt);

    /// <summary>Gets the permits free now.</summary>
    public int Free => _permits.CurrentCount;

    public bool Wait(int millisecondsTimeout, CancellationToken cancellationToken) => _permits.Wait(millisecondsTimeout, cancellationToken);

    public void Wait(CancellationToken cancellationToken) => _permits.Wait(cancellationToken);

    public Task WaitAsync(CancellationToken cancellationToken) => _permits.WaitAsync(cancellationToken);

    /// <summary>Gives a permit back, or keeps it when the limit was lowered below the permits held.</summary>
    public void Release()
    {
        if (Volatile.Read(ref _debt) > 0 && TryPayDebt())
        {
            return;
        }

        _permits.Release();
    }

    /// <summary>Sets the number of permits to <paramref name="limit"/> (at least 1).</summary>
    public void Resize(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        lock (_resize)
        {
            var change = limit - _limit;
            Volatile.Write(ref _limit, limit);
            if (change > 0)
            {
                // Cancel what is still owed first; only the rest becomes new permits.
                while (change > 0 && TryPayDebt())
                {
                    change--;
                }

                if (change > 0)
                {
                    _permits.Release(change);
                }
            }
            else if (change < 0)
            {
                Interlocked.Add(ref _debt, -change);

                // Take the free permits now; a Release that races with this may pay the same debt first, and then
                // the permit taken here was not owed and goes back.
                while (Volatile.Read(ref _debt) > 0 && _permits.Wait(0, CancellationToken.None))
                {
                    if (!TryPayDebt())
                    {
                        _permits.Release();
                    }
                }
            }
        }
    }

    private bool TryPayDebt()
    {
        while (true)
        {
            var debt = Volatile.Read(ref _debt);
            if (debt <= 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _debt, debt - 1, debt) == debt)
            {
                return true;
            }
        }
    }
}
