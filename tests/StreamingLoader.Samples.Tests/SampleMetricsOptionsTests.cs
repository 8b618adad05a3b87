using StreamingLoader.Samples.FashionMnistTraining;
using StreamingLoader.Samples.ImageFolderLoading;
using StreamingLoader.Samples.LinearRegression;
using StreamingLoader.Samples.LiveTail;
using StreamingLoader.Samples.MiniBatchComparison;

namespace StreamingLoader.Samples.Tests;

/// <summary>
/// Every sample that trains serves its metrics as the CLI does: it takes <c>--metrics-port</c>, <c>--no-metrics</c> and
/// <c>--run-id</c> (an unknown option is an error) and its usage says so. A sample serving its metrics to a real
/// Prometheus is in the Prometheus tests (FashionMnistTorch).
/// </summary>
public class SampleMetricsOptionsTests
{
    private static readonly string[] Metrics = ["--metrics-port", "9470", "--no-metrics", "--run-id", "run-1"];

    [Fact]
    public void Parse_MetricsOptions_AcceptedByEverySample()
    {
        Assert.False(FashionOptions.Parse(Metrics).Help);
        Assert.False(LinearRegressionOptions.Parse(Metrics).Help);
        Assert.False(ComparisonOptions.Parse(Metrics).Help);
        Assert.False(SampleOptions.Parse([.. Metrics]).Help);
        Assert.NotNull(LiveTailOptions.Parse([.. Metrics]));

        var error = Assert.Throws<ArgumentException>(() => FashionOptions.Parse(["--metrics-port", "none"]));
        Assert.Contains("--metrics-port", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Usage_EverySample_NamesTheMetricsOptions()
    {
        foreach (var usage in new[] { FashionOptions.Usage, LinearRegressionOptions.Usage, ComparisonOptions.Usage, SampleOptions.Usage })
        {
            Assert.Contains("--metrics-port N", usage, StringComparison.Ordinal);
            Assert.Contains("--no-metrics", usage, StringComparison.Ordinal);
            Assert.Contains("--run-id ID", usage, StringComparison.Ordinal);
        }
    }
}
