using Microsoft.Win32.SafeHandles;
using System.Runtime.InteropServices;

namespace StreamingLoader.Internal;

/// <summary>
/// Device, inode and times through Linux's <c>statx</c> (whose layout, unlike <c>struct stat</c>'s, is the same on
/// every architecture), and a fingerprint of a file's first bytes. Elsewhere the id is unknown and only the
/// fingerprint identifies a file.
/// </summary>
internal static partial class FileIdentity
{
    /// <summary>How many leading bytes identify a file's content.</summary>
    public const int FingerprintBytes = 1024;

    private const int AtFdCwd = -100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxBasicStatsAndBirth = 0xfff;
    private const uint StatxBirth = 0x800;
    private static bool _unsupported = !OperatingSystem.IsLinux();

    public static FileId Of(SafeFileHandle handle) => StampOf(handle).Id;

    /// <summary>The id and times of the open file <paramref name="handle"/>, wherever it was renamed since.</summary>
    public static FileStamp StampOf(SafeFileHandle handle)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return Stat((int)handle.DangerousGetHandle(), string.Empty, AtEmptyPath);
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>The id of the file now at <paramref name="path"/>, or null when there is none.</summary>
    public static FileId? Of(string path)
    {
        if (_unsupported)
        {
            return File.Exists(path) ? default(FileId) : null;
        }

        var id = Stat(AtFdCwd, path, 0).Id;
        return id.IsKnown || File.Exists(path) ? id : null;
    }

    /// <summary>The id and times of the file now at <paramref name="path"/> (all 0 where unknown or gone).</summary>
    public static FileStamp StampOf(string path) => Stat(AtFdCwd, path, 0);

    /// <summary>FNV-1a over the first <paramref name="length"/> bytes, read without moving the stream.</summary>
    public static ulong Fingerprint(SafeFileHandle handle, int length)
    {
        Span<byte> buffer = stackalloc byte[FingerprintBytes];
        var read = 0;
        while (read < length)
        {
            var n = RandomAccess.Read(handle, buffer[read..length], read);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        // A file shorter than the fingerprint it should match cannot be the same file.
        return read < length ? 0 : Hash(buffer[..length]);
    }

    public static ulong Hash(ReadOnlySpan<byte> bytes)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return hash;
    }

    private static unsafe FileStamp Stat(int directory, string path, int flags)
    {
        if (_unsupported)
        {
            return default;
        }

        // struct statx is 256 bytes: stx_mask at 0, stx_ino at 32, stx_btime at 80 and stx_mtime at 112 (each a
        // 64-bit second and a 32-bit nanosecond), stx_dev_major/minor at 136/140.
        var buffer = stackalloc byte[256];
        try
        {
            if (StatX(directory, path, flags, StatxBasicStatsAndBirth, buffer) != 0)
            {
                return default;
            }
        }
        catch (EntryPointNotFoundException)
        {
            _unsupported = true;
            return default;
        }

        static long Nanoseconds(byte* timestamp) => (*(long*)timestamp * 1_000_000_000L) + *(uint*)(timestamp + 8);

        var inode = *(ulong*)(buffer + 32);
        var device = ((ulong)*(uint*)(buffer + 136) << 32) | *(uint*)(buffer + 140);
        var born = (*(uint*)buffer & StatxBirth) != 0 ? Nanoseconds(buffer + 80) : 0;
        return new FileStamp(new FileId(device, inode), born, Nanoseconds(buffer + 112));
    }

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int StatX(int directory, string path, int flags, uint mask, byte* buffer);
}
