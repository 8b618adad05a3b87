using StreamingLoader.Datasets;

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
        options.PoolSize = LoaderOptions.Auto;
        Assert.Equal(LoaderOptions.Auto, options.PoolSize);
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
        Assert.Equal((PipelineStage.Source, 12L), (error.Stage, error.SampleIndex));
        Assert.Contains("yielded index 12 but the dataset has 10 samples", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_ChannelWithShuffleResumeBatchTimeoutAndTinyPool_ReportsEveryProblemAtOnce()
    {
        var state = new LoaderState(0, 1, 0, -1, -1);
        var channel = System.Threading.Channels.Channel.CreateUnbounded<Sample<float, long>>();
        var error = Assert.Throws<ArgumentException>(() => Pipeline.From(channel.Reader)
            .Build(new LoaderOptions { Shuffle = true, PoolSize = 1, BatchTimeout = TimeSpan.FromSeconds(1) }, state));
        Assert.Contains("ShuffleBufferSize", error.Message, StringComparison.Ordinal);
        Assert.Contains("A channel is read once", error.Message, StringComparison.Ordinal);
        Assert.Contains("With BatchTimeout", error.Message, StringComparison.Ordinal);
        Assert.Contains("PoolSize 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_BatchSamplerWithShuffleAndDropLast_ReportsBoth()
    {
        var batches = BatchSampler.Create(Sampler.Sequential(10), 4, dropLast: false);
        var error = Assert.Throws<ArgumentException>(() => Pipeline.From(TestData.Tensor(10), batches).Build(new LoaderOptions { Shuffle = true, DropLast = true }));
        Assert.Contains("Shuffle cannot be combined with a batch sampler", error.Message, StringComparison.Ordinal);
        Assert.Contains("DropLast cannot be combined with a batch sampler", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EffectivePoolSize_AutoDerivesFromPrefetchAndWorkers_ExplicitIsKept()
    {
        var options = new LoaderOptions { Prefetch = 3, Workers = 5 };
        Assert.Equal(3 + (2 * 5) + 2, options.EffectivePoolSize);
        options.PoolSize = 7;
        Assert.Equal(7, options.EffectivePoolSize);
    }

    [Fact]
    public void Autotune_AutoAcceptedForWorkersPrefetchAndBudget_OtherNonPositiveValuesThrow()
    {
        var options = new LoaderOptions { Workers = LoaderOptions.Auto, Prefetch = LoaderOptions.Auto, MemoryBudget = LoaderOptions.Auto };
        Assert.Equal(LoaderOptions.Auto, options.Workers);
        Assert.Equal(LoaderOptions.Auto, options.Prefetch);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.Workers = -2);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.Prefetch = -2);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.MemoryBudget = 0);

        // The pool a tuned loader starts with: prefetch 2 + 2 × 2 workers + 2.
        Assert.Equal(8, options.EffectivePoolSize);
        var share = (long)(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * LoaderOptions.DefaultMemoryShare);
        Assert.Equal(share, options.ResolvedMemoryBudget);
        options.MemoryBudget = 1 << 20;
        Assert.Equal(1 << 20, options.ResolvedMemoryBudget);
    }

    [Fact]
    public void Build_MemoryBudgetWithNothingTuned_ReportedWithTheFix()
    {
        var error = Assert.Throws<ArgumentException>(() => Pipeline.From(TestData.Tensor(10)).Build(new LoaderOptions { Workers = 2, MemoryBudget = 1 << 20 }));
        Assert.Contains("nothing is tuned: set Workers or Prefetch to LoaderOptions.Auto", error.Message, StringComparison.Ordinal);
    }

    private sealed class BadSampler : Sampler
    {
        public override int Length => 3;

        public override int[] GetIndices(ulong seed, long epoch) => [0, 1, 12];
    }
}
