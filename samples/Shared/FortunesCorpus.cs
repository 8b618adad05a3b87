using System.Text;

namespace StreamingLoader.Samples;

/// <summary>
/// Debian's <c>fortunes</c> package as a labelled corpus: one file per category in <c>/usr/share/games/fortunes</c>,
/// fortunes separated by lines holding only <c>%</c>. The category is the file's name.
/// </summary>
/// <param name="Categories">The categories, sorted; a fortune's label is its category's index.</param>
/// <param name="Fortunes">Every fortune's text and label, in file order.</param>
internal sealed record FortunesCorpus(IReadOnlyList<string> Categories, IReadOnlyList<(string Text, int Label)> Fortunes)
{
    /// <summary>Where Debian installs the corpus (<c>apt-get install fortunes</c>).</summary>
    public const string DefaultRoot = "/usr/share/games/fortunes";

    /// <summary>Reads every category file of <paramref name="root"/> with at least <paramref name="minPerCategory"/> fortunes.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist (the message says how to install it).</exception>
    public static FortunesCorpus Load(string root = DefaultRoot, int minPerCategory = 1)
    {
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"{root} does not exist: install Debian's fortunes package (apt-get install fortunes) or pass --root.");
        }

        var byCategory = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFiles(root))
        {
            var name = Path.GetFileName(path);
            if (Path.HasExtension(name) || new FileInfo(path).LinkTarget is not null)
            {
                continue; // the .dat index files and the .u8 links to the same text
            }

            var fortunes = Split(File.ReadAllText(path, Encoding.UTF8));
            if (fortunes.Count >= minPerCategory)
            {
                byCategory[name] = fortunes;
            }
        }

        if (byCategory.Count == 0)
        {
            throw new FileNotFoundException($"{root} holds no fortune files with at least {minPerCategory} fortunes each.");
        }

        var categories = byCategory.Keys.ToList();
        var all = byCategory.SelectMany((pair, label) => pair.Value.Select(text => (text, label))).ToList();
        return new FortunesCorpus(categories, all);
    }

    private static List<string> Split(string text)
    {
        var fortunes = new List<string>();
        var current = new StringBuilder();
        foreach (var line in text.Split('\n'))
        {
            if (line.TrimEnd('\r') == "%")
            {
                Add();
            }
            else
            {
                current.Append(line).Append('\n');
            }
        }

        Add();
        return fortunes;

        void Add()
        {
            var fortune = current.ToString().Trim();
            if (fortune.Length > 0)
            {
                fortunes.Add(fortune);
            }

            current.Clear();
        }
    }
}
