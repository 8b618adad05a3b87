namespace StreamingLoader.Shards.Internal;

/// <summary>A read-only seekable stream over a positional read function (one per reader thread).</summary>
internal sealed class PositionalStream(long length, PositionalStream.ReadAt read) : Stream
{
    private long _position;

    public delegate int ReadAt(long offset, Span<byte> buffer);

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position
    {
        get => _position;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _position = value;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_position >= length || buffer.IsEmpty)
        {
            return 0;
        }

        var count = (int)Math.Min(buffer.Length, length - _position);
        var total = 0;
        while (total < count)
        {
            var got = read(_position + total, buffer[total..count]);
            if (got <= 0)
            {
                break;
            }

            total += got;
        }

        _position += total;
        return total;
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        return _position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
