namespace StreamingLoader.Parquet.Internal;

/// <summary>
/// Decodes the units a rank reads next while its workers copy rows out of the current ones: given the epoch's unit
/// order, each time a reader reaches a unit, the next <c>ahead</c> units are decoded on one background task, in order.
/// A worker that reaches a unit first decodes it itself, so the background task only ever removes work from the
/// workers' path. A failed decode is left to the read that needs the unit (which reports it). Its one task, started
/// with the first plan, waits for work and is awaited when it is disposed.
/// </summary>
internal sealed class UnitPrefetcher(UnitCache cache, int units, int ahead) : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _work = new(0);
    private int[] _order = [];
    private int[] _position = Fill(new int[units]);
    private int _target = -1;
    private int _next;
    private Task? _running;

    /// <summary>Sets the order the units will be read in (first use of each), and starts on the first ones.</summary>
    public void Plan(int[] order)
    {
        var position = Fill(new int[units]);
        for (var p = 0; p < order.Length; p++)
        {
            position[order[p]] = p;
        }

        lock (_lock)
        {
            (_order, _position, _next, _target) = (order, position, 0, -1);
        }

        Reached(order.Length > 0 ? order[0] : -1);
    }

    /// <summary>A reader has reached <paramref name="unit"/>: keep the <c>ahead</c> units after it decoding.</summary>
    public void Reached(int unit)
    {
        if (unit < 0 || unit >= units)
        {
            return;
        }

        var position = Volatile.Read(ref _position)[unit];
        if (position < 0 || position + ahead <= Volatile.Read(ref _target))
        {
            return;
        }

        lock (_lock)
        {
            if (_stop.IsCancellationRequested || position + ahead <= _target)
            {
                return;
            }

            _target = position + ahead;
            _next = Math.Max(_next, position + 1);
            _running ??= Task.Run(RunAsync, CancellationToken.None);
            if (_work.CurrentCount == 0)
            {
                _work.Release();
            }
        }
    }

    private async Task RunAsync()
    {
        while (true)
        {
            var unit = -1;
            lock (_lock)
            {
                if (_next <= _target && _next < _order.Length)
                {
                    unit = _order[_next++];
                }
            }

            if (unit >= 0)
            {
                cache.Warm(unit);
                continue;
            }

            try
            {
                await _work.WaitAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task? running;
        lock (_lock)
        {
            _stop.Cancel();
            running = _running;
        }

        if (running is not null)
        {
            await running.ConfigureAwait(false);
        }

        _stop.Dispose();
        _work.Dispose();
    }

    private static int[] Fill(int[] positions)
    {
        Array.Fill(positions, -1);
        return positions;
    }
}
