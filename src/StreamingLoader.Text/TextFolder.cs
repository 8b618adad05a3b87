using StreamingLoader.Datasets;

namespace StreamingLoader.Text;

/// <summary>
/// A map-style dataset of text files, one document per file, laid out one sub-folder per class (scikit-learn's
/// <c>load_files</c>, torchvision's <c>ImageFolder</c>; the layout of IMDB's <c>aclImdb/train/pos</c>,
/// <c>aclImdb/train/neg</c>): classes are the sub-folder names sorted ordinally and numbered from 0, each class's
/// files are found recursively and sorted by path.
/// </summary>
/// <remarks>
/// A sample is a <see cref="TextFile"/> (path and label), which costs nothing to hold; <see cref="Tokenize.File"/>
/// reads and tokenizes it in the loader's workers.
/// </remarks>
/// <example>
/// <code>
/// var folder = TextFolder.Load("aclImdb/train");
/// var builder = Pipeline.From(folder).Transform(Tokenize.File(TextTokenizer.Gpt2()));
/// </code>
/// </example>
public sealed class TextFolder : IDataset<TextFile>
{
    private readonly TextFile[] _files;

    private TextFolder(string root, string[] classes, TextFile[] files)
    {
        Root = root;
        Classes = classes;
        _files = files;
    }

    /// <summary>Gets the folder the classes were read from.</summary>
    public string Root { get; }

    /// <summary>Gets the class names, sorted; a class's label is its position here.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>Gets every file, in dataset order.</summary>
    public IReadOnlyList<TextFile> Files => _files;

    /// <inheritdoc/>
    public int Count => _files.Length;

    /// <summary>Finds the classes and their files under <paramref name="root"/>.</summary>
    /// <param name="root">The folder holding one sub-folder per class.</param>
    /// <param name="searchPattern">The files to take, as <see cref="Directory.GetFiles(string, string)"/> matches them.</param>
    /// <exception cref="DirectoryNotFoundException"><paramref name="root"/> does not exist.</exception>
    /// <exception cref="FileNotFoundException">There is no class folder, or a class has no file; the message names them.</exception>
    public static TextFolder Load(string root, string searchPattern = "*.txt")
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        ArgumentException.ThrowIfNullOrEmpty(searchPattern);
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"The text folder '{root}' does not exist.");
        }

        var classes = Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();
        if (classes.Length == 0)
        {
            throw new FileNotFoundException($"Couldn't find any class folder in '{root}': a text folder holds one sub-folder per class.");
        }

        var files = new List<TextFile>();
        var empty = new List<string>();
        for (var label = 0; label < classes.Length; label++)
        {
            var found = Directory.GetFiles(Path.Combine(root, classes[label]), searchPattern, SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();
            if (found.Length == 0)
            {
                empty.Add(classes[label]);
            }

            files.AddRange(found.Select(path => new TextFile(path, label)));
        }

        if (empty.Count > 0)
        {
            throw new FileNotFoundException($"Found no file matching '{searchPattern}' for the classes {string.Join(", ", empty)} in '{root}'.");
        }

        return new TextFolder(root, classes, [.. files]);
    }

    /// <inheritdoc/>
    public TextFile GetItem(int index)
    {
        if ((uint)index >= (uint)_files.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"The dataset has {_files.Length} files.");
        }

        return _files[index];
    }

    /// <inheritdoc/>
    public override string ToString() => $"TextFolder: {Count} files in {Classes.Count} classes under '{Root}'";
}
