using System.Buffers;

namespace StreamingLoader.Prometheus.Hosting;

/// <summary>
/// A write-only stream into arrays rented from <see cref="ArrayPool{T}.Shared"/>, returned when disposed: a scrape's
/// answer (over 85 KB, so a fresh array each time would go to the large-object heap) is buffered without allocating.
/// </summary>
internal sealed class PooledBuffer : Stream
{
    private byte[] _array;
    private int _length;

    public PooledBuffer(int capacity) => _array = ArrayPool<byte>.Shared.Rent(capacity);

    /// <summary>Gets what was written.</summary>
    public Span<byte> Written => _array.AsSpan(0, _length);

    /// <summary>Gets what was written, as memory.</summary>
    public Memory<byte> WrittenMemory => _array.AsMemory(0, _length);

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => _length;

    public override long Position
    {
        get => _length;
        set => throw new NotSupportedException();
    }

    /// <summary>Keeps only the first <paramref name="length"/> bytes written.</summary>
    public void Truncate(int length) => _length = Math.Min(length, _length);

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_length + buffer.Length > _array.Length)
        {
            var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_array.Length * 2, _length + buffer.Length));
            _array.AsSpan(0, _length).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_array);
            _array = larger;
        }

        buffer.CopyTo(_array.AsSpan(_length));
        _length += buffer.Length;
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && _array.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_array);
            _array = [];
            _length = 0;
        }

        base.Dispose(disposing);
    }
}
