using System.IO.Compression;

namespace StreamingLoader.Prometheus.Hosting;

/// <summary>gzip in and out of pooled buffers, for a scrape the exporter compressed.</summary>
internal static class Gzip
{
    public static PooledBuffer Decompress(ReadOnlyMemory<byte> compressed)
    {
        var output = new PooledBuffer(compressed.Length * 8);
        using var input = new GZipStream(new ReadOnlyMemoryStream(compressed), CompressionMode.Decompress);
        input.CopyTo(output);
        return output;
    }

    /// <summary>Gets <paramref name="data"/> decompressed, for tests.</summary>
    public static byte[] Decompress(byte[] data)
    {
        using var output = Decompress(data.AsMemory());
        return output.Written.ToArray();
    }

    public static PooledBuffer Compress(ReadOnlySpan<byte> data)
    {
        var output = new PooledBuffer(Math.Max(1024, data.Length / 4));
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output;
    }

    /// <summary>A read-only stream over memory (the compressed answer), without copying it.</summary>
    private sealed class ReadOnlyMemoryStream(ReadOnlyMemory<byte> memory) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => memory.Length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var count = Math.Min(buffer.Length, memory.Length - _position);
            memory.Span.Slice(_position, count).CopyTo(buffer);
            _position += count;
            return count;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
