using System.Buffers;
using System.Security.Cryptography;

namespace StreamingLoader.Shards.Internal;

/// <summary>
/// A shard being downloaded into the cache: its <c>.part</c> file, and the MD5 of what was written, computed as the
/// bytes arrive (so the check is done when the last byte lands, not by reading the file again). A download that
/// resumes after a failure continues the file where it ends; if the hash has not seen every byte kept, it hashes the
/// kept bytes again first.
/// </summary>
internal sealed class PartFile(FileStream file, bool hash) : IDisposable
{
    private const int BufferSize = 1 << 20;
#pragma warning disable CA5351 // Not for security: S3's ETag is the object's MD5, the checksum the storage gives.
    private IncrementalHash? _md5 = hash ? IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null;
#pragma warning restore CA5351
    private long _hashed;

    public FileStream File => file;

    /// <summary>Gets the bytes written so far.</summary>
    public long Length => file.Length;

    /// <summary>Makes the file ready to take bytes from its end; returns that offset, where the download resumes.</summary>
    public async Task<long> ResumeAsync(CancellationToken cancellationToken)
    {
        await file.FlushAsync(cancellationToken).ConfigureAwait(false);
        var offset = file.Length;
        if (_md5 is not null && _hashed != offset)
        {
            _md5.Dispose();
#pragma warning disable CA5351
            _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
#pragma warning restore CA5351
            file.Position = 0;
            await CopyAsync(file, null, offset, cancellationToken).ConfigureAwait(false);
        }

        file.Position = offset;
        return offset;
    }

    /// <summary>Appends the rest of <paramref name="body"/>, hashing it on the way.</summary>
    public Task AppendAsync(Stream body, CancellationToken cancellationToken) => CopyAsync(body, file, long.MaxValue, cancellationToken);

    /// <summary>The MD5 of the bytes written, or null when not hashed.</summary>
    public string? Md5() => _md5 is null ? null : Convert.ToHexStringLower(_md5.GetHashAndReset());

    public void Dispose()
    {
        _md5?.Dispose();
        file.Dispose();
    }

    private async Task CopyAsync(Stream from, Stream? to, long count, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (count > 0)
            {
                var read = await from.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                _md5?.AppendData(buffer, 0, read);
                _hashed += read;
                count -= read;
                if (to is not null)
                {
                    await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
