namespace StreamingLoader.Text.Tests;

/// <summary>
/// Debian's <c>fortunes</c> package (<c>/usr/share/games/fortunes</c>; scripts/test.sh installs it): one file per
/// category, fortunes separated by lines holding <c>%</c>. English text with overstriking (backspaces), ASCII art,
/// and some UTF-8.
/// </summary>
internal static class FortunesCorpus
{
    public const string Folder = "/usr/share/games/fortunes";

    /// <summary>Each category's file: name and bytes (the .dat indexes and the .u8 links left out).</summary>
    public static IReadOnlyList<(string Category, byte[] Bytes)> Files()
    {
        Assert.True(Directory.Exists(Folder), $"{Folder} does not exist: apt-get install fortunes (scripts/test.sh installs it).");
        return
        [
            .. Directory.GetFiles(Folder)
                .Where(f => Path.GetExtension(f).Length == 0 && new FileInfo(f).LinkTarget is null)
                .Order(StringComparer.Ordinal)
                .Select(f => (Path.GetFileName(f), File.ReadAllBytes(f))),
        ];
    }

    /// <summary>The file's non-empty lines, without their line breaks.</summary>
    public static IEnumerable<byte[]> Lines(byte[] file) =>
        Split(file, "\n"u8.ToArray()).Where(l => l.Length > 0);

    /// <summary>The file's fortunes: the text between lines holding only <c>%</c>, without the line break ending each.</summary>
    public static IEnumerable<byte[]> Fortunes(byte[] file) =>
        Split(file, "\n%\n"u8.ToArray()).Select(f => f.AsSpan().TrimStart((byte)'\n').TrimEnd((byte)'\n').ToArray()).Where(f => f.Length > 0 && !(f.Length == 1 && f[0] == '%'));

    private static IEnumerable<byte[]> Split(byte[] file, byte[] separator)
    {
        var start = 0;
        while (start <= file.Length)
        {
            var at = file.AsSpan(start).IndexOf(separator);
            var end = at < 0 ? file.Length : start + at;
            yield return file[start..end];
            start = end + separator.Length;
        }
    }
}
