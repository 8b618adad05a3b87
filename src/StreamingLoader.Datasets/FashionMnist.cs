namespace StreamingLoader.Datasets;

/// <summary>
/// Fashion-MNIST (Zalando's 70,000 28×28 grayscale clothing images in 10 classes; 60,000 train, 10,000 test), the
/// dataset of the seeds' <c>datasets.FashionMNIST</c>, read from its IDX files.
/// </summary>
/// <remarks>
/// On Debian and Ubuntu the files come with the package <c>dataset-fashion-mnist</c> under
/// <see cref="DefaultRoot"/>. A folder downloaded by torchvision (<c>root/FashionMNIST/raw</c>) works too.
/// </remarks>
/// <example>
/// <code>
/// var train = FashionMnist.Load(train: true);
/// var collator = Collate.BytesToFloat&lt;long&gt;(train.FeatureShape, mean: FashionMnist.Mean, std: FashionMnist.Std);
/// await using var loader = Pipeline.From(train).Build(collator, new LoaderOptions { BatchSize = 32, Shuffle = true });
/// // batch.Features: Float32 [32, 1, 28, 28]; batch.Labels: Int64 [32]
/// </code>
/// </example>
public static class FashionMnist
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> package installs the files.</summary>
    public const string DefaultRoot = "/usr/share/datasets/fashion-mnist";

    /// <summary>The mean pixel of the training set, scaled to [0, 1], for <c>Normalize(mean, std)</c>.</summary>
    public const float Mean = 0.2860f;

    /// <summary>The standard deviation of the training set's pixels, scaled to [0, 1].</summary>
    public const float Std = 0.3530f;

    /// <summary>Gets the class names, by label (torchvision's <c>FashionMNIST.classes</c>).</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>
    /// Loads the training set (<c>train-images-idx3-ubyte</c>, <c>train-labels-idx1-ubyte</c>) or the test set
    /// (<c>t10k-…</c>) from <paramref name="root"/>, gzip'd (<c>.gz</c>) or not.
    /// </summary>
    /// <param name="root">The folder holding the files, or a torchvision root holding <c>FashionMNIST/raw</c>.</param>
    /// <param name="train">The 60,000 training samples (true) or the 10,000 test samples (false).</param>
    /// <exception cref="FileNotFoundException">The files are not there; the message says how to get them.</exception>
    /// <exception cref="InvalidDataException">A file is damaged; the message names it.</exception>
    public static IdxDataset Load(string root = DefaultRoot, bool train = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        var prefix = train ? "train" : "t10k";
        var images = Find(root, $"{prefix}-images-idx3-ubyte", train);
        var labels = Find(root, $"{prefix}-labels-idx1-ubyte", train);
        return IdxDataset.Load(images, labels);
    }

    private static string Find(string root, string name, bool train)
    {
        foreach (var folder in (string[])[root, Path.Combine(root, "FashionMNIST", "raw")])
        {
            foreach (var candidate in (string[])[Path.Combine(folder, name + ".gz"), Path.Combine(folder, name)])
            {
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new FileNotFoundException(
            $"The Fashion-MNIST {(train ? "training" : "test")} file {name}[.gz] is not in '{root}'. Install it with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu, files in {DefaultRoot}) or download it from https://github.com/zalandoresearch/fashion-mnist into that folder.",
            Path.Combine(root, name + ".gz"));
    }
}
