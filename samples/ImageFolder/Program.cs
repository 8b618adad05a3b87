using System.Diagnostics;
using System.Globalization;
using StreamingLoader.Images;

namespace StreamingLoader.Samples.ImageFolderLoading;

/// <summary>
/// The Chinese tutorial's ImageFolder pipeline (seed 002): <c>ImageFolder(root, transform=Compose([Resize(256),
/// CenterCrop(224), RandomHorizontalFlip(), ToTensor(), Normalize(mean, std)]))</c> in a <c>DataLoader(batch_size=32,
/// shuffle=True, num_workers=2)</c>: prints the classes, the first batch's shapes and each epoch's throughput.
/// </summary>
public static class Program
{
    private static readonly float[] s_mean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] s_std = [0.229f, 0.224f, 0.225f];

    public static async Task<int> Main(string[] args)
    {
        if (SampleCommandLine.ParseOrExit(() => SampleOptions.Parse(args), o => o.Help, SampleOptions.Usage, out var options) is { } exit)
        {
            return exit;
        }

        try
        {
            await using var metrics = await options.Metrics.StartAsync("ImageFolder", Console.Out);
        await RunAsync(options, Console.Out);
        }
        catch (Exception ex) when (ex is IOException or DataLoaderException)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 1;
        }

        return 0;
    }

    /// <summary>Loads the folder (generating it first when no root is given) and reads the epochs, logging to <paramref name="output"/>.</summary>
    public static async Task<SampleResult> RunAsync(SampleOptions options, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        var root = options.Root;
        if (root is null)
        {
            root = Path.Combine(Path.GetTempPath(), $"streamingloader-imagefolder-{options.PerClass}");
            SyntheticFolder.Write(root, options.PerClass);
            output.WriteLine($"Generated {options.PerClass} JPEGs per class under {root}");
        }

        // train_dataset = datasets.ImageFolder(root, transform=transforms.Compose([...]))
        var dataset = ImageFolder.Load(root);
        var transform = ImageTransform.Compose(
            ImageTransform.Resize(256),
            ImageTransform.CenterCrop(224),
            ImageTransform.RandomHorizontalFlip(),
            ImageTransform.ToTensor(),
            ImageTransform.Normalize(s_mean, s_std));
        output.WriteLine($"{dataset.Count} images, classes: {string.Join(", ", dataset.Classes.Select(c => $"{c}={dataset.ClassToIndex[c]}"))}");

        // train_loader = DataLoader(train_dataset, batch_size=32, shuffle=True, num_workers=2)
        var loaderOptions = new LoaderOptions { BatchSize = options.BatchSize, Shuffle = true, Workers = options.Workers, Seed = options.Seed, Name = "images" };
        await using var loader = dataset.CreateLoader(transform, loaderOptions);

        int[] featureShape = [], labelShape = [];
        var epochs = new List<EpochFigures>();
        for (var epoch = 0; epoch < options.Epochs; epoch++)
        {
            var watch = Stopwatch.StartNew();
            var images = 0;
            var batches = 0;
            await foreach (var batch in loader.ReadEpochAsync(cancellationToken))
            {
                using (batch)
                {
                    if (epoch == 0 && batches == 0)
                    {
                        // images, labels = next(iter(train_loader)); print(images.shape, labels.shape)
                        featureShape = batch.Features.Shape.ToArray();
                        labelShape = batch.Labels.Shape.ToArray();
                        output.WriteLine($"Feature batch shape: [{string.Join(", ", featureShape)}] {batch.Features.ElementType}");
                        output.WriteLine($"Labels batch shape: [{string.Join(", ", labelShape)}] {batch.Labels.ElementType}");
                        var red = batch.Features.Sample<float>(0)[..(224 * 224)];
                        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"First image: class {dataset.Classes[(int)batch.Labels.AsSpan<long>()[0]]}, normalized red channel mean {Mean(red):F3}"));
                    }

                    images += batch.Count;
                    batches++;
                }
            }

            var seconds = watch.Elapsed.TotalSeconds;
            epochs.Add(new EpochFigures(images, batches, seconds));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Epoch {epoch + 1}/{options.Epochs}: {images} images in {batches} batches, {seconds:F2} s, {images / seconds:N0} images/s"));
        }

        return new SampleResult(dataset.Classes.ToArray(), dataset.Count, featureShape, labelShape, epochs);
    }

    private static double Mean(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (var v in values)
        {
            sum += v;
        }

        return sum / values.Length;
    }
}

/// <summary>What one epoch read.</summary>
public sealed record EpochFigures(int Images, int Batches, double Seconds);

/// <summary>What the sample saw: the classes, the first batch's shapes and each epoch.</summary>
public sealed record SampleResult(string[] Classes, int Images, int[] FeatureShape, int[] LabelShape, IReadOnlyList<EpochFigures> Epochs);
