using System.Runtime.InteropServices;

namespace StreamingLoader.Sources;

/// <summary>
/// One line of text from a file, a tailed file or a message: its UTF-8 bytes and where it is, so a collator's error
/// names the file and line. <see cref="JsonLines.Read(string, int)"/> and <see cref="FileTail"/> yield them; wrap other bytes (a
/// message body) with the public constructor.
/// </summary>
[StructLayout(LayoutKind.Auto)]
public readonly struct TextLine : ISampleOrigin
{
    private readonly object _source; // the path, or the tailed file the line came from
    private readonly long _endOffset; // a tailed line's end; for an overlong line, the limit it broke (negated)

    /// <summary>Creates a line: <paramref name="path"/> and <paramref name="lineNumber"/> name it in error messages.</summary>
    public TextLine(string path, long lineNumber, ReadOnlyMemory<byte> utf8)
    {
        ArgumentNullException.ThrowIfNull(path);
        _source = path;
        LineNumber = lineNumber;
        Utf8 = utf8;
    }

    internal TextLine(TailedFile file, long lineNumber, long endOffset, ReadOnlyMemory<byte> utf8)
    {
        _source = file;
        LineNumber = lineNumber;
        _endOffset = endOffset;
        Utf8 = utf8;
    }

    private TextLine(string path, long lineNumber, int maxLength)
    {
        _source = path;
        LineNumber = lineNumber;
        _endOffset = -maxLength;
    }

    /// <summary>Gets the file (or source) the line is in.</summary>
    public string Path => _source as string ?? ((TailedFile)_source).Path;

    /// <summary>Gets the line's number, from 1 (a CSV header is line 1).</summary>
    public long LineNumber { get; }

    /// <summary>Gets <c>file:line</c>, which errors about the line start with; null for a default instance.</summary>
    public string? Origin => _source is null ? null : $"{Path}:{LineNumber}";

    /// <summary>Gets the line's bytes, without the line break (empty when <see cref="ExceedsMaxLength"/>).</summary>
    public ReadOnlyMemory<byte> Utf8 { get; }

    /// <summary>
    /// Gets whether the line was longer than the reader's maximum: its bytes were skipped, not kept, and a collator
    /// rejects it (a dead letter under <see cref="ErrorPolicy.Skip"/>, an error otherwise).
    /// </summary>
    public bool ExceedsMaxLength => _endOffset < 0;

    /// <summary>Gets the position just after a tailed line (resuming from it goes on with the next line); null for other lines.</summary>
    public TailPosition? Position => File?.PositionAt(_endOffset, LineNumber);

    /// <summary>Gets the tailed file the line came from; null for other lines.</summary>
    internal TailedFile? File => _source as TailedFile;

    internal long EndOffset => _endOffset;

    /// <summary>A line skipped for being longer than <paramref name="maxLength"/> bytes.</summary>
    internal static TextLine Overlong(string path, long lineNumber, int maxLength) => new(path, lineNumber, maxLength);

    /// <summary>The error a collator throws for a line that <see cref="ExceedsMaxLength"/>.</summary>
    internal InvalidDataException TooLongError() =>
        new($"{Path}:{LineNumber}: the line is longer than the maximum of {-_endOffset} bytes; its bytes were skipped (JsonLines.Read's maxLineLength raises the limit).");
}
