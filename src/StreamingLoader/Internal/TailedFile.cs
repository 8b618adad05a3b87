namespace StreamingLoader.Internal;

/// <summary>One file as the tail reads it: its id, the fingerprint of its first bytes so far, and its header line.</summary>
internal sealed class TailedFile(string path, FileId id)
{
    private volatile Fingerprint _fingerprint = new(0, FileIdentity.Hash([]));

    public string Path => path;

    public FileId Id => id;

    /// <summary>Gets the header line's bytes when the tail reads files with a header; null before it is read.</summary>
    public byte[]? Header { get; set; }

    /// <summary>Gets or sets what a collator derived from the header (column indices), cached per file.</summary>
    public object? HeaderCache { get; set; }

    public Fingerprint Fingerprint
    {
        get => _fingerprint;
        set => _fingerprint = value;
    }

    public TailPosition PositionAt(long offset, long lineNumber)
    {
        var fingerprint = _fingerprint;
        return new TailPosition(path, id.Device, id.Inode, fingerprint.Length, fingerprint.Hash, offset, lineNumber);
    }
}
