namespace StreamingLoader.Tests;

public class OptionsTests
{
    [Fact]
    public void Setters_OutOfRange_Throw()
    {
        var options = new LoaderOptions();
        Assert.Throws<ArgumentOutOfRangeException>(() => options.BatchSize = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.Workers = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.Prefetch = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.PoolSize = 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.ShuffleBufferSize = -1);
        Assert.Throws<ArgumentException>(() => options.Name = " ");
        options.PoolSize = LoaderOptions.Unbounded;
        Assert.Equal(LoaderOptions.Unbounded, options.PoolSize);
    }

    [Fact]
    public async Task Build_CopiesOptions_LaterChangesDoNotApply()
    {
        var options = new LoaderOptions { BatchSize = 10 };
        await using var loader = Pipeline.From(TestData.Tensor(100)).Build(options);
        options.BatchSize = 50;
        Assert.Equal(10, loader.Options.BatchSize);
        Assert.Equal(10, loader.BatchesPerEpoch);
    }

    [Fact]
    public async Task SamplerYieldingIndexOutsideDataset_ErrorNamesIndexAndCount()
    {
        await using var loader = Pipeline.From(TestData.Tensor(10), new BadSampler()).Build(new LoaderOptions { BatchSize = 4 });
        var error = await Assert.ThrowsAsync<DataLoaderException>(() => TestData.ReadEpochLabelsAsync(loader));
        Assert.Equal(("source", 12L), (error.Stage, error.SampleIndex));
        Assert.Contains("yielded index 12 but the dataset has 10 samples", error.Message, StringComparison.Ordinal);
    }

    private sealed class BadSampler : Sampler
    {
        public override int Length => 3;

        public override int[] GetIndices(ulong seed, long epoch) => [0, 1, 12];
    }
}
