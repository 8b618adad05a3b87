using StreamingLoader.Samples.ImageFolderLoading;
using ImageFolderSample = StreamingLoader.Samples.ImageFolderLoading.Program;

namespace StreamingLoader.Samples.Tests;

public sealed class ImageFolderSampleTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "imagefolder-sample-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task ImageFolder_TutorialPipeline_GivesBatchesOf32RgbImagesOf224AndEveryImageEachEpoch()
    {
        SyntheticFolder.Write(_root, perClass: 14);
        var output = new StringWriter();

        var result = await ImageFolderSample.RunAsync(new SampleOptions { Root = _root, Epochs = 2 }, output);

        Assert.Equal(["circle", "square", "stripes"], result.Classes);
        Assert.Equal(42, result.Images);
        Assert.Equal([32, 3, 224, 224], result.FeatureShape);
        Assert.Equal([32], result.LabelShape);
        Assert.All(result.Epochs, e => Assert.Equal((42, 2), (e.Images, e.Batches)));
        var log = output.ToString();
        Assert.Contains("Feature batch shape: [32, 3, 224, 224] Float32", log);
        Assert.Contains("Labels batch shape: [32] Int64", log);
        Assert.Contains("Epoch 2/2: 42 images in 2 batches", log);
    }

    [Fact]
    public void SampleOptions_Arguments_Parse()
    {
        var options = SampleOptions.Parse(["--root", "/data", "--per-class", "5", "--epochs", "3", "--batch-size", "8", "--workers", "1", "--seed", "4"]);

        Assert.Equal(new SampleOptions { Root = "/data", PerClass = 5, Epochs = 3, BatchSize = 8, Workers = 1, Seed = 4 }, options);
        Assert.Throws<ArgumentException>(() => SampleOptions.Parse(["--epochs", "0"]));
        Assert.Throws<ArgumentException>(() => SampleOptions.Parse(["--nope"]));
    }
}
