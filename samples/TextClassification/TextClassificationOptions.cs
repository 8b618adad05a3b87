namespace StreamingLoader.Samples.TextClassification;

/// <summary>Command-line options.</summary>
public sealed record TextClassificationOptions : FortunesSampleOptions
{
    public const string Usage = """
        Usage: TextClassification [--epochs 6] [--batch-size 64] [--dimensions 64] [--lr 0.005] [--dropout 0.3]
                                  [--max-length 256] [--no-bucket] [--min-per-category 50] [--workers N] [--threads N]
                                  [--seed 0] [--root DIR]
          --epochs N             training epochs (default 6)
          --batch-size N         fortunes per batch (default 64)
          --dimensions N         embedding size (default 64)
          --lr X                 Adam's learning rate (default 0.005)
          --dropout X            dropout before the classifier (default 0.3)
          --max-length N         tokens kept of a fortune, cut on the right (default 256)
          --no-bucket            batches by sampler order, without length buckets (to compare the padding)
          --min-per-category N   leave out categories with fewer fortunes (default 50)
          --workers N            loader threads, which also tokenize (default: processor count)
          --threads N            libtorch intra-op threads (default: libtorch's)
          --seed N               seeds the split, the shuffle and the initial weights (default 0)
          --root DIR             the fortunes folder (default /usr/share/games/fortunes, Debian's fortunes)
        """ + "\n" + SampleMetrics.Usage;

    public int Epochs { get; init; } = 6;

    public int BatchSize { get; init; } = 64;

    public int Dimensions { get; init; } = 64;

    public double LearningRate { get; init; } = 5e-3;

    public double Dropout { get; init; } = 0.3;

    public int MaxLength { get; init; } = 256;

    public bool Bucket { get; init; } = true;

    public int MinPerCategory { get; init; } = 50;

    public static TextClassificationOptions Parse(IReadOnlyList<string> args)
    {
        var d = new TextClassificationOptions();
        var epochs = SampleCommandLine.Positive("--epochs", d.Epochs, "Epochs to train.");
        var batchSize = SampleCommandLine.Positive("--batch-size", d.BatchSize, "Fortunes per batch.");
        var dimensions = SampleCommandLine.Positive("--dimensions", d.Dimensions, "Embedding size.");
        var lr = SampleCommandLine.Number("--lr", d.LearningRate, "Adam's learning rate.");
        var dropout = SampleCommandLine.Number("--dropout", d.Dropout, "Dropout before the classifier.");
        var maxLength = SampleCommandLine.Positive("--max-length", d.MaxLength, "Tokens kept of a fortune.");
        var noBucket = SampleCommandLine.Flag("--no-bucket", "Batches without length buckets.");
        var minPerCategory = SampleCommandLine.Positive("--min-per-category", d.MinPerCategory, "Leave out smaller categories.");
        var common = new Options("Seeds the split, the shuffle and the initial weights.");
        var command = common.AddTo(new System.CommandLine.RootCommand("TextClassification") { epochs, batchSize, dimensions, lr, dropout, maxLength, noBucket, minPerCategory });
        var result = SampleCommandLine.Parse(command, args, out var help);
        var options = new TextClassificationOptions
        {
            Epochs = result.GetValue(epochs),
            BatchSize = result.GetValue(batchSize),
            Dimensions = result.GetValue(dimensions),
            LearningRate = result.GetValue(lr),
            Dropout = result.GetValue(dropout),
            MaxLength = result.GetValue(maxLength),
            Bucket = !result.GetValue(noBucket),
            MinPerCategory = result.GetValue(minPerCategory),
        };
        options = common.Read(options, result, help);

        return options.LearningRate > 0 && options.Dropout is >= 0 and < 1 && options.MaxLength >= 16
            ? options
            : throw new ArgumentException("--lr takes a positive number, --dropout one in [0, 1), --max-length at least 16.");
    }
}
