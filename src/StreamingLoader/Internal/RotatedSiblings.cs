namespace StreamingLoader.Internal;

/// <summary>
/// The rotated copies of a followed file, as Filebeat's registry knows files: names matching a pattern in the file's
/// folder (compressed ones left out), each identified by device and inode, not by name, and ordered by age. After a
/// file was read to its end, the next one is the oldest copy younger than it that was not read yet, and after the
/// copies the file at the path: so a file rotated twice while the tail was stopped or behind is read, not skipped.
/// </summary>
internal sealed class RotatedSiblings
{
    private static readonly string[] CompressedSuffixes = [".gz", ".bz2", ".xz", ".zst", ".zip", ".lz4", ".Z"];
    private static readonly EnumerationOptions Matching = new() { MatchType = MatchType.Simple, MatchCasing = MatchCasing.CaseSensitive, IgnoreInaccessible = true };

    private readonly string _path;
    private readonly string _directory;
    private readonly string? _pattern;
    private readonly HashSet<FileId> _read = [];

    /// <param name="path">The followed path.</param>
    /// <param name="pattern">The rotated names (<c>*</c> and <c>?</c>), null for the path's name and a dot and anything, empty for none.</param>
    public RotatedSiblings(string path, string? pattern)
    {
        _path = Path.GetFullPath(path);
        _directory = Path.GetDirectoryName(_path)!;
        _pattern = pattern is null ? Path.GetFileName(_path) + ".*" : pattern.Length == 0 ? null : pattern;
    }

    /// <summary>Notes that the tail opened the file <paramref name="id"/>: it is never read again as a rotated copy.</summary>
    public void Opened(FileId id)
    {
        if (id.IsKnown)
        {
            _read.Add(id);
        }
    }

    /// <summary>
    /// The oldest rotated copy younger than the file <paramref name="finished"/> that was not opened yet, or null when
    /// there is none (then the file at the path is next).
    /// </summary>
    public (string Path, FileId Id)? Next(in FileStamp finished)
    {
        if (_pattern is null || !finished.Id.IsKnown)
        {
            return null;
        }

        (string Path, FileStamp Stamp)? oldest = null;
        foreach (var file in Directory.EnumerateFiles(_directory, _pattern, Matching))
        {
            if (file == _path || CompressedSuffixes.Any(suffix => file.EndsWith(suffix, StringComparison.Ordinal)))
            {
                continue;
            }

            var stamp = FileIdentity.StampOf(file);
            if (!stamp.Id.IsKnown || stamp.Id == finished.Id || _read.Contains(stamp.Id) || !stamp.IsYoungerThan(finished))
            {
                continue;
            }

            if (oldest is not { } best || FileStamp.CompareAge(stamp, file, best.Stamp, best.Path) < 0)
            {
                oldest = (file, stamp);
            }
        }

        return oldest is { } found ? (found.Path, found.Stamp.Id) : null;
    }
}
