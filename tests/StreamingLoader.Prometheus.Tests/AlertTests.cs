using StreamingLoader.Prometheus.Tests.Infrastructure;
using Xunit.Abstractions;

namespace StreamingLoader.Prometheus.Tests;

/// <summary>
/// dashboards/alerts.yml, referenced from prometheus.yml: valid for promtool, and each alert fires on the series that
/// should fire it and not on a healthy pipeline beside it (promtool's rule unit tests, Alerts/alerts.test.yml). One
/// alert firing on a real Prometheus over a real run is in <see cref="BottleneckVerdictTests"/>.
/// </summary>
public sealed class AlertTests(ITestOutputHelper output)
{
    [Fact]
    public async Task PromtoolCheckRules_Alerts_FourValidRules()
    {
        var (exitCode, stdout, stderr) = await Tools.RunAsync("promtool", ["check", "rules", Repository.Alerts]);

        output.WriteLine(stdout + stderr);
        Assert.True(exitCode == 0, stdout + stderr);
        Assert.Contains("SUCCESS: 4 rules found", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PromtoolTestRules_EachAlert_FiresWhenItShouldAndNotOnAHealthyPipeline()
    {
        var tests = Path.Combine(Repository.Root, "tests", "StreamingLoader.Prometheus.Tests", "Alerts", "alerts.test.yml");

        var (exitCode, stdout, stderr) = await Tools.RunAsync("promtool", ["test", "rules", tests]);

        output.WriteLine(stdout + stderr);
        Assert.True(exitCode == 0, stdout + stderr);
        Assert.Contains("SUCCESS", stdout, StringComparison.Ordinal);
        foreach (var alert in new[] { "StreamingLoaderInputStarvation", "StreamingLoaderErrors", "StreamingLoaderIngestLag", "StreamingLoaderPoolLeasesNotReturned" })
        {
            Assert.Contains($"alertname: {alert}", await File.ReadAllTextAsync(tests), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void PrometheusConfig_LoadsTheAlerts()
    {
        var config = File.ReadAllText(Repository.PrometheusConfig);

        Assert.Contains("rule_files:\n  - dashboards/alerts.yml\n", config, StringComparison.Ordinal);
    }
}
