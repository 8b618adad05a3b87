namespace StreamingLoader.TorchSharp.Interop;

/// <summary>The process's loaded native libraries, which managed code does not see.</summary>
internal static class ProcessNative
{
    /// <summary>Gets the paths of the shared libraries mapped into this process whose file name contains <paramref name="fragment"/> (Linux).</summary>
    public static IReadOnlyList<string> LoadedLibraries(string fragment)
    {
        const string Maps = "/proc/self/maps";
        if (!File.Exists(Maps))
        {
            return [];
        }

        var found = new List<string>();
        foreach (var line in File.ReadLines(Maps))
        {
            var slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0)
            {
                continue;
            }

            var path = line[slash..];
            if (Path.GetFileName(path).Contains(fragment, StringComparison.Ordinal) && !found.Contains(path))
            {
                found.Add(path);
            }
        }

        return found;
    }
}
