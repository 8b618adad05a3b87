using StreamingLoader.Prometheus.Tests.Infrastructure;
using Xunit.Abstractions;

namespace StreamingLoader.Prometheus.Tests;

/// <summary>
/// The dashboard over a process that trains with TorchSharp: the FashionMnistTorch sample on Debian's Fashion-MNIST,
/// serving its metrics with <c>--metrics-port</c> as every training sample does, scraped by a real Prometheus. Every
/// panel, the training row included, returns data; only what cannot apply (ingest lag: the sample reads a dataset,
/// not a stream; padding: its images have one size) says so instead.
/// </summary>
[Collection(RealPrometheusGroup.Name)]
public sealed class TrainingDashboardTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Dashboards_TorchSharpSample_EveryPanelHasDataOrSaysItDoesNotApply()
    {
        // A small MLP on one libtorch thread and one loader worker: an epoch takes a few seconds; the row needs two.
        await using var sample = await TrainingProcess.StartSampleAsync("FashionMnistTorch", ["--epochs", "100", "--hidden", "64", "--workers", "1", "--threads", "1"]);
        await using var prometheus = await PrometheusProcess.StartAsync(Repository.PrometheusConfigFor(sample.Port));

        // The last epoch's loss, accuracy and time exist once an epoch has ended: until then they read as not applying.
        var notApplicable = new List<string>();
        var wrong = new List<string>();
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        do
        {
            wrong = await DashboardQueries.EventuallyAllReturnDataAsync(prometheus, "streamingloader", sample.Instance, notApplicable, () => Assert.False(sample.HasExited, sample.Output));
        }
        while (notApplicable.Any(entry => !DoesNotApplyHere(entry)) && deadline.Elapsed < TimeSpan.FromSeconds(120));

        var queries = await DashboardQueries.ForAsync(prometheus, "streamingloader", sample.Instance);
        output.WriteLine($"{queries.Count} queries; {queries.Count - notApplicable.Count - wrong.Count} returned data; does not apply: {string.Join("; ", notApplicable)}");
        foreach (var panel in new[] { "Loss (last epoch)", "Accuracy (last epoch)", "Learning rate", "Epochs completed" })
        {
            var query = queries.First(q => q.Panel == panel);
            output.WriteLine($"{panel}: " + string.Join("; ", PrometheusProcess.Vector(await prometheus.QueryAsync(query.Promql)).Select(s => $"{s.Labels.GetValueOrDefault("pipeline")} {s.Labels.GetValueOrDefault("mode")} = {s.Value:G4}")));
        }

        Assert.True(wrong.Count == 0, "Panels without data:\n" + string.Join('\n', wrong) + "\n" + sample.Output);
        Assert.All(notApplicable, entry => Assert.True(DoesNotApplyHere(entry), entry));
    }

    /// <summary>
    /// The sample reads no live source, tunes nothing and pads nothing (no variable-length field: images of one size):
    /// those panels, and only those, say so.
    /// </summary>
    private static bool DoesNotApplyHere(string entry) =>
        entry.StartsWith("Ingest lag", StringComparison.Ordinal) || entry.StartsWith("Autotune", StringComparison.Ordinal)
        || entry.StartsWith("Padding", StringComparison.Ordinal);
}
