using System.Collections.Concurrent;

namespace StreamingLoader.Parquet.Internal;

/// <summary>Decoded units reused from one row group to the next, so that reading an epoch allocates nothing per row.</summary>
internal sealed class UnitPool(int columns)
{
    private readonly ConcurrentBag<ColumnUnit> _free = [];

    public ColumnUnit Rent() => _free.TryTake(out var unit) ? unit : new ColumnUnit(columns);

    public void Return(ColumnUnit unit)
    {
        (unit.Owner as IDisposable)?.Dispose();
        unit.Owner = null;
        _free.Add(unit);
    }
}
