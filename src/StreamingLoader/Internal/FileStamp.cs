namespace StreamingLoader.Internal;

/// <summary>
/// A file's id and times as <c>statx</c> tells them (nanoseconds since the epoch; 0 where unknown): what orders the
/// rotated copies of a followed file by age.
/// </summary>
internal readonly record struct FileStamp(FileId Id, long BornNanoseconds, long ModifiedNanoseconds)
{
    /// <summary>
    /// Whether this file is younger than <paramref name="other"/>: created later where the filesystem records creation
    /// (the order of a rename rotation: each new file is made after the last one was renamed), else written last later.
    /// </summary>
    public bool IsYoungerThan(in FileStamp other)
    {
        var (mine, theirs) = BornNanoseconds != 0 && other.BornNanoseconds != 0
            ? (BornNanoseconds, other.BornNanoseconds)
            : (ModifiedNanoseconds, other.ModifiedNanoseconds);
        return mine != theirs ? mine > theirs : ModifiedNanoseconds > other.ModifiedNanoseconds;
    }

    /// <summary>Orders by age, oldest first; equal stamps by name.</summary>
    public static int CompareAge(in FileStamp a, string aName, in FileStamp b, string bName) =>
        a.IsYoungerThan(b) ? 1 : b.IsYoungerThan(a) ? -1 : string.CompareOrdinal(aName, bName);
}
