using System.Runtime.InteropServices;

namespace StreamingLoader.Sources;

/// <summary>A complete new file of a watched folder.</summary>
[StructLayout(LayoutKind.Auto)]
public readonly struct WatchedFile
{
    internal WatchedFile(string path, long length, DateTime lastWriteUtc, long sequence)
    {
        Path = path;
        Length = length;
        LastWriteUtc = lastWriteUtc;
        Sequence = sequence;
    }

    /// <summary>Gets the file's full path.</summary>
    public string Path { get; }

    /// <summary>Gets the file's length when it was found complete.</summary>
    public long Length { get; }

    /// <summary>Gets the file's last write time (UTC) when it was found complete.</summary>
    public DateTime LastWriteUtc { get; }

    /// <summary>Gets the file's place in arrival order, from 0, counted across the watch's whole life.</summary>
    public long Sequence { get; }
}
