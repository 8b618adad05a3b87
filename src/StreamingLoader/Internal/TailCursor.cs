namespace StreamingLoader.Internal;

/// <summary>
/// The file a tail reads now and how far: opens the file a resume position names (found by id if renamed since),
/// tells at the end of the file whether it was truncated (shorter, or its first bytes changed) or rotated (the
/// path now names another file), and after a rotated file the next one: its unread rotated copies in age order
/// (<see cref="RotatedSiblings"/>), then the file at the path.
/// </summary>
internal sealed class TailCursor : IDisposable
{
    private readonly string _path;
    private readonly TailOptions _options;
    private readonly RotatedSiblings _siblings;
    private volatile FileStream? _stream;

    public TailCursor(string path, TailOptions options)
    {
        _path = path;
        _options = options;
        _siblings = new RotatedSiblings(path, options.RotatedNames);
        TailBacklog.Track(this);
    }

    public enum FileState
    {
        Same,
        Truncated,
        Rotated,
    }

    public FileStream Stream => _stream ?? throw new InvalidOperationException("No file is open.");

    public TailedFile File { get; private set; } = null!;

    /// <summary>Gets or sets the byte offset just after the last complete line read.</summary>
    public long Offset { get; set; }

    /// <summary>Gets or sets the number of lines read from the file, the header included.</summary>
    public long LineNumber { get; set; }

    /// <summary>Gets or sets whether the file was rotated away: read it to its end, then go on with the path.</summary>
    public bool Draining { get; set; }

    /// <summary>Opens the file to read first; false when the idle timeout passed before the path existed.</summary>
    public async ValueTask<bool> StartAsync(TailPosition? resumeFrom, Func<bool> idleExpired, CancellationToken cancellationToken)
    {
        if (resumeFrom is not null && TryResume(resumeFrom))
        {
            return true;
        }

        return await OpenPathAsync(idleExpired, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// After a rotated file was read to its end: opens the oldest rotated copy younger than it that was not read yet
    /// (a file rotated again before the tail got to it), or else the file at the path.
    /// </summary>
    public async ValueTask<bool> OpenNextAsync(Func<bool> idleExpired, CancellationToken cancellationToken)
    {
        var finished = FileIdentity.StampOf(Stream.SafeFileHandle);

        // A copy renamed again between the look and the open is looked for again (a bounded number of times).
        for (var attempt = 0; attempt < 16 && _siblings.Next(finished) is { } next; attempt++)
        {
            if (TryOpen(next.Path) is not { } stream)
            {
                continue;
            }

            if (FileIdentity.Of(stream.SafeFileHandle) == next.Id)
            {
                Switch(stream, 0, 0, draining: true);
                return true;
            }

            stream.Dispose();
        }

        return await OpenPathAsync(idleExpired, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Opens the file now at the path from its start, waiting until there is one.</summary>
    public async ValueTask<bool> OpenPathAsync(Func<bool> idleExpired, CancellationToken cancellationToken)
    {
        while (true)
        {
            var stream = TryOpen(_path);
            if (stream is not null)
            {
                Switch(stream, 0, 0, draining: false);
                return true;
            }

            if (idleExpired())
            {
                return false;
            }

            await Task.Delay(_options.PollInterval, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Learns more of the file's first bytes' fingerprint once <paramref name="available"/> bytes exist.</summary>
    public void ExtendFingerprint(long available)
    {
        var known = File.Fingerprint.Length;
        if (known < FileIdentity.FingerprintBytes && available > known)
        {
            var length = (int)Math.Min(FileIdentity.FingerprintBytes, available);
            File.Fingerprint = new Fingerprint(length, FileIdentity.Fingerprint(Stream.SafeFileHandle, length));
        }
    }

    /// <summary>Was the file cut short or replaced in place, or does the path name another file now?</summary>
    public FileState Check(long readPosition)
    {
        var stream = Stream;
        var fingerprint = File.Fingerprint;
        if (stream.Length < readPosition || FileIdentity.Fingerprint(stream.SafeFileHandle, fingerprint.Length) != fingerprint.Hash)
        {
            return FileState.Truncated;
        }

        var now = FileIdentity.Of(_path);
        return now is { } id && File.Id.IsKnown && id != File.Id ? FileState.Rotated : FileState.Same;
    }

    /// <summary>Reads the same file again from its start (it was truncated); its header and fingerprint are new.</summary>
    public void Restart()
    {
        var stream = Stream;
        stream.Position = 0;
        File = new TailedFile(_path, File.Id);
        Offset = 0;
        LineNumber = 0;
    }

    public string FollowedPath => _path;

    /// <summary>Bytes in the file past the last complete line read, or null while no file is open.</summary>
    public long? Backlog()
    {
        try
        {
            return _stream is { } stream ? Math.Max(0, stream.Length - Offset) : null;
        }
        catch (Exception ex) when (ex is ObjectDisposedException or IOException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        TailBacklog.Untrack(this);
        _stream?.Dispose();
    }

    private bool TryResume(TailPosition position)
    {
        // The file under the path is the one read before, or the one read before was renamed (rotated) and the
        // rest of it comes first, then its younger rotated copies (OpenNextAsync). The same file cut short or
        // rewritten since is read from its start, as a truncation is; a file that cannot be found is an error.
        var stream = TryOpen(_path);
        if (stream is not null)
        {
            var id = FileIdentity.Of(stream.SafeFileHandle);
            if (Matches(stream, position, id))
            {
                Switch(stream, position.Offset, position.LineNumber, draining: false);
                return true;
            }

            stream.Dispose();
            if (id.IsKnown && id == position.Id)
            {
                return false;
            }
        }

        if (!position.Id.IsKnown)
        {
            return false;
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(_path))!;
        foreach (var candidate in Directory.EnumerateFiles(directory))
        {
            if (FileIdentity.Of(candidate) != position.Id || TryOpen(candidate) is not { } old)
            {
                continue;
            }

            if (Matches(old, position, position.Id))
            {
                Switch(old, position.Offset, position.LineNumber, draining: true);
                return true;
            }

            old.Dispose();
        }

        throw new FileNotFoundException(
            $"The tail's position names {position.Path} as the file of device {position.Device}, inode {position.Inode} (line {position.LineNumber}, byte {position.Offset}), and no file in {directory} is that file any more: it was deleted or compressed after the position was saved, so its lines after line {position.LineNumber}, and those of any file rotated between it and the file now at {_path}, are lost. To go on with the file now at {_path} and accept the loss, create the {nameof(FileTail)} without resumeFrom.",
            position.Path);
    }

    private static bool Matches(FileStream stream, TailPosition position, FileId id) =>
        id == position.Id
        && stream.Length >= position.Offset
        && position.FingerprintLength <= FileIdentity.FingerprintBytes
        && FileIdentity.Fingerprint(stream.SafeFileHandle, position.FingerprintLength) == position.Fingerprint;

    private void Switch(FileStream stream, long offset, long lineNumber, bool draining)
    {
        _stream?.Dispose();
        _stream = stream;
        File = new TailedFile(_path, FileIdentity.Of(stream.SafeFileHandle));
        _siblings.Opened(File.Id);
        stream.Position = offset;
        Offset = offset;
        LineNumber = lineNumber;
        Draining = draining;
        ExtendFingerprint(offset);
        if (_options.HasHeader && lineNumber > 0)
        {
            File.Header = ReadFirstLine(stream);
        }
    }

    private static byte[] ReadFirstLine(FileStream stream)
    {
        var buffer = new byte[4096];
        var filled = 0;
        while (true)
        {
            var read = RandomAccess.Read(stream.SafeFileHandle, buffer.AsSpan(filled), filled);
            var newline = buffer.AsSpan(filled, read).IndexOf((byte)'\n');
            if (newline >= 0 || read == 0)
            {
                var end = newline >= 0 ? filled + newline : filled + read;
                return buffer.AsSpan(0, end > 0 && buffer[end - 1] == (byte)'\r' ? end - 1 : end).ToArray();
            }

            filled += read;
            if (filled == buffer.Length)
            {
                Array.Resize(ref buffer, buffer.Length * 2);
            }
        }
    }

    private static FileStream? TryOpen(string file)
    {
        try
        {
            return new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }
}
