using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.RegularExpressions;
using StreamingLoader.Prometheus;
using TorchSharp;

namespace StreamingLoader.TorchSharp.Tests;

/// <summary>
/// The dashboard's TorchSharp row has data whenever the consumer is in use: the one-line metrics server serves the
/// consumer's meter by default, and every series the row queries is in the scrape after a training epoch.
/// </summary>
public class TorchMetricsServedTests
{
    [Fact]
    public async Task MetricsServer_AfterATrainingEpoch_ServesEverySeriesTheDashboardRowQueries()
    {
        await using var server = await PrometheusMetricsServer.StartAsync(new MetricsServerOptions { Port = 0 });
        string pipeline;
        // A name of its own: the gauges are per pipeline and process, and other tests' classifiers train as "default".
        await using (var loader = TorchEpochsTests.RegressionLoader(seed: 3, name: "regression-served"))
        {
            pipeline = loader.Options.Name;
            using var model = TorchEpochsTests.Model();
            using var criterion = torch.nn.MSELoss();
            using var optimizer = torch.optim.SGD(model.parameters(), learningRate: 0.1);
            await using var feed = TorchFeed.Create();
            await loader.TrainEpochAsync(model, criterion, optimizer, feed);
        }

        using var http = new HttpClient();
        var scrape = await http.GetStringAsync(server.Uri);
        var queried = Regex.Matches(await File.ReadAllTextAsync(DashboardPath()), @"streamingloader_torch_[a-z_]+")
            .Select(m => m.Value).ToHashSet();
        Assert.Superset(new HashSet<string> { "streamingloader_torch_input_wait_seconds_total", "streamingloader_torch_step_duration_seconds_bucket", "streamingloader_torch_staged_bytes_total" }, queried);
        // The regression's loss is not a classifier's: no accuracy (its panel says so); every other series is there,
        // by pipeline and mode (staged bytes by device).
        Assert.DoesNotMatch($@"(?m)^streamingloader_torch_accuracy\{{[^}}]*pipeline=""{pipeline}""", scrape);
        foreach (var series in queried.Where(s => s != "streamingloader_torch_accuracy"))
        {
            Assert.Matches($@"(?m)^{series}\{{[^}}]*mode=""train""[^}}]*pipeline=""[^""]+""|^{series}\{{[^}}]*pipeline=""[^""]+""[^}}]*mode=""train""|^{series}\{{[^}}]*device=""cpu""", scrape);
        }

        Assert.Contains(@"otel_scope_name=""StreamingLoader.TorchSharp"",otel_scope_version=""1.0""", scrape, StringComparison.Ordinal);
        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(DashboardPath()));
        Assert.Contains(dashboard.RootElement.GetProperty("panels").EnumerateArray(), p => p.GetProperty("title").GetString()!.Contains("TorchSharp", StringComparison.Ordinal));
    }

    private static string DashboardPath([CallerFilePath] string path = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(path)!, "../../dashboards/streamingloader.json"));
}
