using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;

namespace StreamingLoader.Shards.Internal;

/// <summary>
/// A shard being downloaded into the cache: its <c>.part</c> file, filled by up to <see cref="MaxRanges"/> byte ranges
/// fetched side by side (one when it is hashed), each written at its own offset as it arrives. Each range keeps how far it got, so a retry
/// resumes it where it stopped. Several streams at once cost the storage server less per byte than one (measured
/// on s3rver: about 0.3 CPU-s per 170 MB with 4 or more, 0.45-0.55 with one) and bring a large shard in sooner; on a
/// network, one connection rarely fills the link.
/// </summary>
internal sealed class PartFile : IDisposable
{
    /// <summary>The most ranges a shard is fetched in.</summary>
    public const int MaxRanges = 4;

    /// <summary>
    /// The least bytes a range holds: a smaller shard is fetched in fewer ranges (one under 32 MiB). Each request costs
    /// the server about as much as 1 MB more of a response (s3rver: 1.5 ms of CPU a GET): the benchmark's 10 MB shards in 4
    /// ranges cost it more CPU than in one, while 16 MiB ranges keep that overhead near 5 %.
    /// </summary>
    public const long MinRangeBytes = 16 << 20;

    private const int BufferSize = 1 << 20;
    private readonly FileStream _file;
    private readonly long[] _starts;
    private readonly long[] _written;
    private readonly Lock _lock = new();
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _readers;
    private bool _closed;

    private readonly IncrementalHash? _md5;

    /// <summary>
    /// A part file to fill with <paramref name="length"/> bytes; with <paramref name="hash"/>, in one range whose bytes
    /// are hashed as they are written (MD5 is sequential: hashing ranges that arrive out of order would take a second
    /// pass over the file, measured 15-20 % slower on a cold epoch).
    /// </summary>
    public PartFile(FileStream file, long length, bool hash)
    {
        _file = file;
        _starts = hash ? [0, length] : Split(length);
        _written = new long[_starts.Length - 1];
#pragma warning disable CA5351 // Not for security: S3's ETag is the object's MD5, the checksum the storage gives.
        _md5 = hash ? IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null;
#pragma warning restore CA5351
    }

    public FileStream File => _file;

    /// <summary>Gets how many ranges the shard is fetched in.</summary>
    public int Ranges => _written.Length;

    /// <summary>Gets the length of the file so far (the end of the furthest byte written).</summary>
    public long Length => RandomAccess.GetLength(_file.SafeFileHandle);

    /// <summary>Where range <paramref name="range"/> resumes, and where it ends (exclusive).</summary>
    public (long Offset, long End) Remaining(int range) => (_starts[range] + Volatile.Read(ref _written[range]), _starts[range + 1]);

    /// <summary>
    /// Writes <paramref name="body"/> (the rest of range <paramref name="range"/>, from <see cref="Remaining"/>) at its
    /// place, in blocks of up to a MiB; an <see cref="IOException"/> (which is retried) when it ends short.
    /// </summary>
    public async Task WriteAsync(int range, Stream body, string address, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            var (offset, end) = Remaining(range);
            while (offset < end)
            {
                var want = (int)Math.Min(buffer.Length, end - offset);
                var read = await body.ReadAtLeastAsync(buffer.AsMemory(0, want), want, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                if (read > 0)
                {
                    RandomAccess.Write(_file.SafeFileHandle, buffer.AsSpan(0, read), offset);

                    // Only bytes written are hashed: a retry resumes after them, so the hash sees every byte once.
                    _md5?.AppendData(buffer, 0, read);
                    offset += read;
                    Volatile.Write(ref _written[range], offset - _starts[range]);
                    Signal();
                }

                if (read < want)
                {
                    throw new IOException(string.Create(CultureInfo.InvariantCulture, $"The download of {address} ended at byte {offset:N0}, short of {end:N0} (bytes {_starts[range]:N0}-{end - 1:N0} were asked for)."));
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The MD5 of the bytes written, or null when not hashed.</summary>
    public string? Md5() => _md5 is null ? null : Convert.ToHexStringLower(_md5.GetHashAndReset());

    /// <summary>
    /// Waits until the bytes from <paramref name="start"/> that <paramref name="buffer"/> holds are written, then reads them from
    /// <paramref name="start"/> into <paramref name="buffer"/> (a reader decoding while the download goes on); -1 once
    /// the part is closed (complete or abandoned), when the reader goes to the cached shard instead.
    /// </summary>
    public int ReadWhenWritten(long start, Span<byte> buffer, CancellationToken cancellationToken)
    {
        var end = start + buffer.Length;
        while (true)
        {
            var signal = Volatile.Read(ref _progress).Task;
            lock (_lock)
            {
                if (_closed)
                {
                    return -1;
                }

                if (Written(start, end))
                {
                    _readers++;
                    break;
                }
            }

            signal.Wait(cancellationToken);
        }

        try
        {
            return RandomAccess.Read(_file.SafeFileHandle, buffer, start);
        }
        finally
        {
            lock (_lock)
            {
                _readers--;
            }

            Signal();
        }
    }

    /// <summary>Stops reads from the part (waiting for those under way), before it is closed, renamed or deleted.</summary>
    public void Close()
    {
        while (true)
        {
            var signal = Volatile.Read(ref _progress).Task;
            lock (_lock)
            {
                _closed = true;
                if (_readers == 0)
                {
                    break;
                }
            }

            signal.Wait();
        }

        Signal();
    }

    public void Dispose()
    {
        Close();
        _md5?.Dispose();
        _file.Dispose();
    }

    /// <summary>Whether every byte of [start, end) is written: each range it overlaps has written through its share.</summary>
    private bool Written(long start, long end)
    {
        for (var r = 0; r < _written.Length; r++)
        {
            var from = Math.Max(start, _starts[r]);
            var to = Math.Min(end, _starts[r + 1]);
            if (from < to && _starts[r] + Volatile.Read(ref _written[r]) < to)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Wakes the readers waiting for bytes (or for the readers to leave).</summary>
    private void Signal() => Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>The ranges' starts, and the end: equal ranges of at least <see cref="MinRangeBytes"/>, at most <see cref="MaxRanges"/>.</summary>
    private static long[] Split(long length)
    {
        var count = (int)Math.Clamp((length + MinRangeBytes - 1) / MinRangeBytes, 1, MaxRanges);
        var starts = new long[count + 1];
        for (var r = 0; r <= count; r++)
        {
            starts[r] = length * r / count;
        }

        return starts;
    }
}
