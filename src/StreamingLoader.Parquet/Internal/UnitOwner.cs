using System.Buffers;

namespace StreamingLoader.Parquet.Internal;

/// <summary>
/// What a decoded unit's views depend on (a mapped shard, a record batch, pinned buffers, the open shard), released
/// together, last in first, when the unit goes back to the pool.
/// </summary>
internal sealed class UnitOwner : IDisposable
{
    private readonly Stack<IDisposable> _owned = new();
    private readonly List<MemoryHandle> _pins = [];

    public T Add<T>(T owned)
        where T : IDisposable
    {
        _owned.Push(owned);
        return owned;
    }

    /// <summary>Pins <paramref name="memory"/> until disposal and returns its address.</summary>
    public unsafe byte* Pin(ReadOnlyMemory<byte> memory)
    {
        var handle = memory.Pin();
        _pins.Add(handle);
        return (byte*)handle.Pointer;
    }

    public void Dispose()
    {
        foreach (var pin in _pins)
        {
            pin.Dispose();
        }

        _pins.Clear();
        while (_owned.TryPop(out var owned))
        {
            owned.Dispose();
        }
    }
}
