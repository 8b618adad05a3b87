namespace StreamingLoader.Tests;

public class SmokeTests
{
    [Fact]
    public async Task ReadEpochAsync_SequentialDataset_YieldsAllSamplesInOrder()
    {
        var dataset = TestData.Tensor(1000);
        await using var loader = Pipeline.From(dataset).Build(new LoaderOptions { BatchSize = 64, Workers = 2 });
        var labels = await TestData.ReadEpochLabelsAsync(loader);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), labels);
        Assert.Equal(16, loader.BatchesPerEpoch);
    }
}
