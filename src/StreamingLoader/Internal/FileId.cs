using Microsoft.Win32.SafeHandles;
using System.Runtime.InteropServices;

namespace StreamingLoader.Internal;

/// <summary>A file's device and inode: what stays the same when the file is renamed, unlike its name.</summary>
internal readonly record struct FileId(ulong Device, ulong Inode)
{
    public bool IsKnown => Device != 0 || Inode != 0;
}
