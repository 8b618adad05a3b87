using System.Text.RegularExpressions;

namespace StreamingLoader.Docs.Tests;

/// <summary>A C# block of a Markdown file: where it is and its code.</summary>
public sealed partial record Snippet(string File, int Line, string Code)
{
    /// <summary>The repository's root: the folder above this test's, found by its solution file.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>Every ```csharp block of the README files users read: the root's, each library's and each sample's.</summary>
    public static IReadOnlyList<Snippet> All { get; } = [.. ReadmeFiles().SelectMany(Read)];

    public override string ToString() => $"{File}:{Line}";

    private static IEnumerable<string> ReadmeFiles() =>
        new[] { Path.Combine(Root, "README.md") }
            .Concat(Directory.GetFiles(Path.Combine(Root, "src"), "README.md", SearchOption.AllDirectories))
            .Concat(Directory.GetFiles(Path.Combine(Root, "samples"), "README.md", SearchOption.AllDirectories))
            .Where(f => !f.Contains("/bin/", StringComparison.Ordinal) && !f.Contains("/obj/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

    private static IEnumerable<Snippet> Read(string path)
    {
        var text = System.IO.File.ReadAllText(path);
        foreach (Match match in Block().Matches(text))
        {
            var line = text[..match.Index].Count(c => c == '\n') + 1;
            yield return new Snippet(Path.GetRelativePath(Root, path), line, match.Groups[1].Value);
        }
    }

    private static string FindRoot()
    {
        var folder = AppContext.BaseDirectory;
        while (!System.IO.File.Exists(Path.Combine(folder, "StreamingLoader.sln")))
        {
            folder = Path.GetDirectoryName(folder) ?? throw new InvalidOperationException("The repository's root (StreamingLoader.sln) is not above the test's folder.");
        }

        return folder;
    }

    [GeneratedRegex(@"^```csharp[ \t]*\n(.*?)^```", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex Block();
}
