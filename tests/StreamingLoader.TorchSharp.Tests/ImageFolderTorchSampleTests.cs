using StreamingLoader.Samples.ImageFolderTorch;
using ImageFolderTorchSample = StreamingLoader.Samples.ImageFolderTorch.Program;

namespace StreamingLoader.TorchSharp.Tests;

public sealed class ImageFolderTorchSampleTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "imagefolder-torch-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task ImageFolderTorch_SmallCnn_LearnsTheShapesFromDecodedJpegs()
    {
        var output = new StringWriter();

        var epochs = await ImageFolderTorchSample.RunAsync(new TrainingOptions { Root = _root, Epochs = 6 }, output);

        Assert.Equal(6, epochs.Count);
        Assert.True(epochs[^1].TrainLoss < 0.8 * epochs[0].TrainLoss, $"The training loss went from {epochs[0].TrainLoss:F3} to {epochs[^1].TrainLoss:F3}.\n{output}");
        Assert.True(epochs.Max(e => e.TestAccuracy) > 0.45, $"Test accuracy never passed 0.45 (chance is 0.33).\n{output}");
        Assert.Contains("192 training and 96 test images", output.ToString());
    }
}
