using Microsoft.Win32.SafeHandles;

namespace StreamingLoader.Shards.Internal;

/// <summary>
/// An open shard: seekable streams over it for a reader (a Parquet or tar reader), each with its own position, so
/// several threads read one shard at once. A cached shard stays readable while this is open even if another process
/// evicts it (its file handle keeps the data).
/// </summary>
internal abstract class ShardFile : IDisposable
{
    protected ShardFile(int shard, string address, long length)
    {
        Shard = shard;
        Address = address;
        Length = length;
    }

    public int Shard { get; }

    public string Address { get; }

    public long Length { get; }

    /// <summary>Gets the local path of the shard when it is a file on disk (native readers read it faster than a stream), else null.</summary>
    public virtual string? LocalPath => null;

    /// <summary>A new seekable read-only stream over the shard, for one thread.</summary>
    public abstract Stream OpenStream();

    public abstract void Dispose();
}

/// <summary>
/// A shard on local disk (where it lies, or in the cache), read with positional reads on one handle. A cached shard's
/// handle is opened at once, so that it stays readable if another process evicts it: its <see cref="LocalPath"/> is
/// then the handle's own name (<c>/proc/self/fd/N</c> on Linux, which a native reader opens even after the file was
/// unlinked), or null elsewhere (readers take a stream over the handle). A shard where it lies is opened only when a
/// stream is asked for (a native reader opens the path itself).
/// </summary>
internal sealed class LocalShardFile : ShardFile
{
    private readonly string _path;
    private readonly IDisposable? _pin;
    private readonly string? _localPath;
    private SafeFileHandle? _handle;

    public LocalShardFile(int shard, string address, string path, long length, IDisposable? pin)
        : base(shard, address, length)
    {
        _path = path;
        _pin = pin;
        _localPath = path;
        if (pin is not null)
        {
            _handle = Open();
            var byHandle = $"/proc/self/fd/{_handle.DangerousGetHandle()}";
            _localPath = OperatingSystem.IsLinux() && File.Exists(byHandle) ? byHandle : null;
        }
    }

    public override string? LocalPath => _localPath;

    public override Stream OpenStream()
    {
        var handle = Volatile.Read(ref _handle);
        if (handle is null)
        {
            var opened = Open();
            handle = Interlocked.CompareExchange(ref _handle, opened, null) ?? opened;
            if (!ReferenceEquals(handle, opened))
            {
                opened.Dispose();
            }
        }

        return new PositionalStream(Length, (offset, buffer) => RandomAccess.Read(handle, buffer, offset));
    }

    public override void Dispose()
    {
        _handle?.Dispose();
        _pin?.Dispose();
    }

    private SafeFileHandle Open() => File.OpenHandle(_path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete);
}

/// <summary>A remote shard read by byte ranges; the tail (where a Parquet footer lies) is fetched once and kept.</summary>
internal sealed class RangeShardFile(int shard, string address, long length, Func<long, Memory<byte>, int> readRange) : ShardFile(shard, address, length)
{
    private const int TailBytes = 64 * 1024;
    private byte[]? _tail;

    public override Stream OpenStream() => new PositionalStream(Length, Read);

    private int Read(long offset, Span<byte> buffer)
    {
        var tailStart = Math.Max(0, Length - TailBytes);
        if (offset >= tailStart)
        {
            var tail = Volatile.Read(ref _tail);
            if (tail is null)
            {
                tail = new byte[Length - tailStart];
                var got = readRange(tailStart, tail);
                if (got != tail.Length)
                {
                    throw new EndOfStreamException($"{Address} ended at {tailStart + got:N0} bytes; it was listed with {Length:N0}.");
                }

                Volatile.Write(ref _tail, tail);
            }

            var count = (int)Math.Min(buffer.Length, Length - offset);
            tail.AsSpan((int)(offset - tailStart), count).CopyTo(buffer);
            return count;
        }

        var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            var read = readRange(offset, rented.AsMemory(0, buffer.Length));
            rented.AsSpan(0, read).CopyTo(buffer);
            return read;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public override void Dispose()
    {
    }
}
