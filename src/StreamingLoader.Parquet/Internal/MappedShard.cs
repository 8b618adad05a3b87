using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace StreamingLoader.Parquet.Internal;

/// <summary>
/// A local shard (where it lies, or in the cache by its open handle's name) mapped into memory read-only, as
/// <see cref="Memory{T}"/> for Apache.Arrow's memory reader, which slices record-batch buffers out of it without
/// copying. The mapping lives until disposed (with the unit whose columns point into it). At most 2 GiB (a Memory's size).
/// </summary>
internal sealed unsafe class MappedShard : MemoryManager<byte>
{
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _view;
    private readonly byte* _pointer;
    private readonly int _length;
    private int _disposed;

    public MappedShard(string path, long length)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, int.MaxValue);
        _length = (int)length;
        _map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        try
        {
            _view = _map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            _view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            _pointer = pointer + _view.PointerOffset;
        }
        catch
        {
            _view?.Dispose();
            _map.Dispose();
            throw;
        }
    }

    public override Span<byte> GetSpan() => new(_pointer, _length);

    /// <summary>Mapped memory does not move: a pin is its address.</summary>
    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _map.Dispose();
    }
}
