using System.Runtime.InteropServices;

namespace StreamingLoader;

/// <summary>One complete line of a tailed file: its UTF-8 bytes, where it is, and the position just after it.</summary>
[StructLayout(LayoutKind.Auto)]
public readonly struct TailLine
{
    internal TailLine(TailedFile file, long lineNumber, long endOffset, ReadOnlyMemory<byte> utf8)
    {
        File = file;
        LineNumber = lineNumber;
        EndOffset = endOffset;
        Utf8 = utf8;
    }

    /// <summary>Gets the path the file was followed under.</summary>
    public string Path => File.Path;

    /// <summary>Gets the line's number in its file, from 1 (a header is line 1).</summary>
    public long LineNumber { get; }

    /// <summary>Gets the line's bytes, without the line break.</summary>
    public ReadOnlyMemory<byte> Utf8 { get; }

    /// <summary>Gets the position just after this line: resuming from it goes on with the next line.</summary>
    public TailPosition Position => File.PositionAt(EndOffset, LineNumber);

    internal TailedFile File { get; }

    internal long EndOffset { get; }

    /// <summary>Gets the line as the JSON Lines parser takes it.</summary>
    internal JsonLine AsJsonLine() => new(File.Path, LineNumber, Utf8);
}
