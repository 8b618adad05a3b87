namespace StreamingLoader.Shards.Internal;

/// <summary>
/// A shard still downloading into the cache, read while it arrives: a read waits until its bytes are written to the
/// part file (the byte ranges of a Parquet row group arrive well before the whole shard), and the tail (where a
/// Parquet footer lies, which a reader reads first) comes from memory, fetched once by range. Once the download is
/// complete (or abandoned and fetched again) reads go to the cached shard. Used only where downloads are verified by
/// length alone: rows decoded here before a checksum could fail would already be in a batch.
/// </summary>
internal sealed class GrowingShardFile(int shard, string address, long length, PartFile part, (long Start, byte[] Bytes) tail, Func<ShardFile> openCached) : ShardFile(shard, address, length)
{
    private readonly Lock _lock = new();
    private ShardFile? _cached;
    private bool _disposed;

    public override Stream OpenStream() => new PositionalStream(Length, Read);

    private int Read(long offset, Span<byte> buffer)
    {
        if (offset >= tail.Start)
        {
            var count = (int)Math.Min(buffer.Length, Length - offset);
            tail.Bytes.AsSpan((int)(offset - tail.Start), count).CopyTo(buffer);
            return count;
        }

        var before = buffer[..(int)Math.Min(buffer.Length, tail.Start - offset)];
        var read = part.ReadWhenWritten(offset, before, CancellationToken.None);
        if (read >= 0)
        {
            return read;
        }

        using var stream = Cached().OpenStream();
        stream.Position = offset;
        return stream.Read(before);
    }

    /// <summary>The shard from the cache, once its part is closed (opened once, kept until this is disposed).</summary>
    private ShardFile Cached()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _cached ??= openCached();
        }
    }

    public override void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _cached?.Dispose();
        }
    }
}
