using StreamingLoader.Datasets;

namespace StreamingLoader.Tests;

public class OptionsTests
{
    [Fact]
    public void Setters_OutOfRange_ThrowNamingTheOptionAndWhatItTakes()
    {
        var options = new LoaderOptions();
        void Names(string option, string says, Action set)
        {
            var error = Assert.ThrowsAny<ArgumentException>(set);
            Assert.Equal(option, error.ParamName);
            Assert.Contains(says, error.Message, StringComparison.Ordinal);
        }

        Names("BatchSize", "BatchSize (samples per batch, PyTorch's batch_size) must be at least 1; it was 0", () => options.BatchSize = 0);
        Names("Workers", "Workers must be 0 (load each batch when the consumer asks, as PyTorch's num_workers=0), 1 or more, or LoaderOptions.Auto (tuned while the loader runs); it was -2", () => options.Workers = -2);
        Names("Prefetch", "Prefetch (finished batches waiting ahead of the consumer, or LoaderOptions.Auto) must be at least 1; it was 0", () => options.Prefetch = 0);
        Names("MemoryBudget", "MemoryBudget (bytes the batch buffers may take while tuned) must be positive, or LoaderOptions.Auto", () => options.MemoryBudget = 0);
        Names("PoolSize", "must be at least 1; it was 0", () => options.PoolSize = 0);
        Names("ShuffleBufferSize", "must be at least 0; it was -1", () => options.ShuffleBufferSize = -1);
        Names("StallTimeout", "StallTimeout must be positive, or Timeout.InfiniteTimeSpan for none", () => options.StallTimeout = TimeSpan.Zero);
        Names("BatchTimeout", "BatchTimeout must be positive", () => options.BatchTimeout = TimeSpan.FromSeconds(-1));
        Names("ShutdownTimeout", "ShutdownTimeout must be zero or more", () => options.ShutdownTimeout = TimeSpan.FromSeconds(-1));
        Names("Name", "", () => options.Name = " ");
        options.Workers = 0;
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

    [Fact]
    public void Build_OnDemandWorkersWithAutoPrefetch_RefusedWithTheFix()
    {
        // Workers = 0 reads nothing ahead, so there is no prefetch to tune; Workers = Auto with it is fine.
        var error = Assert.Throws<ArgumentException>(() => Pipeline.From(TestData.Tensor(10)).Build(new LoaderOptions { Workers = 0, Prefetch = LoaderOptions.Auto }));
        Assert.Contains("Workers = 0 reads a batch only when the consumer asks for it, so nothing is prefetched to tune", error.Message, StringComparison.Ordinal);
        Assert.Equal("Workers", Assert.Throws<ArgumentOutOfRangeException>(() => new LoaderOptions().Workers = -2).ParamName);
    }

    [Fact]
    public async Task Build_OnDemandWorkersWithAutoMemoryBudget_ReadsOnDemandUntuned()
    {
        await using var loader = Pipeline.From(TestData.Tensor(10)).Build(new LoaderOptions { Workers = 0, BatchSize = 5 });
        Assert.Null(loader.Autotune);
        Assert.Equal(10, (await TestData.ReadEpochLabelsAsync(loader)).Count);
    }

    private sealed class BadSampler : Sampler
    {
        public override int Length => 3;

        public override int[] GetIndices(ulong seed, long epoch) => [0, 1, 12];
    }
}
