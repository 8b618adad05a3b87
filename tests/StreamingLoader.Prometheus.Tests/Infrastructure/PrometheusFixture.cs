using System.Diagnostics;
using System.Text.Json;

namespace StreamingLoader.Prometheus.Tests.Infrastructure;

/// <summary>
/// For the integration tests: our metrics endpoint on a free loopback port, a real StreamingLoader pipeline
/// running behind it, and Debian's Prometheus scraping it every second with the repository's prometheus.yml
/// (target and interval rewritten). Everything is stopped at the end.
/// </summary>
public sealed class PrometheusFixture : IAsyncLifetime
{
    public string PipelineName { get; } = "it-" + Guid.NewGuid().ToString("N")[..8];

    internal PrometheusMetricsServer Metrics { get; private set; } = null!;

    internal TrainingLoop Loop { get; private set; } = null!;

    internal PrometheusProcess Prometheus { get; private set; } = null!;

    internal string ScrapeConfig { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        // The endpoint first: measurements made before OpenTelemetry listens are not collected.
        Metrics = await PrometheusMetricsServer.StartAsync(new MetricsServerOptions { Port = 0 });
        Loop = new TrainingLoop(PipelineName);
        ScrapeConfig = Repository.PrometheusConfigFor(Metrics.Uri.Port, scrapeSeconds: 1);
        Prometheus = await PrometheusProcess.StartAsync(ScrapeConfig);
    }

    public async Task DisposeAsync()
    {
        if (Prometheus is not null)
        {
            await Prometheus.DisposeAsync();
        }

        if (Loop is not null)
        {
            await Loop.DisposeAsync();
        }

        if (Metrics is not null)
        {
            await Metrics.DisposeAsync();
        }
    }

    /// <summary>
    /// Polls an instant query until it returns at least one sample satisfying <paramref name="accept"/>, or fails
    /// after <paramref name="timeout"/> with the last answer and Prometheus's log.
    /// </summary>
    internal async Task<IReadOnlyList<(Dictionary<string, string> Labels, double Value)>> EventuallyAsync(
        string promql, Func<double, bool>? accept = null, TimeSpan? timeout = null)
    {
        accept ??= _ => true;
        var deadline = Stopwatch.StartNew();
        JsonElement last = default;
        while (true)
        {
            Loop.ThrowIfFaulted();
            last = await Prometheus.QueryAsync(promql);
            var vector = PrometheusProcess.Vector(last);
            if (vector.Any(sample => accept(sample.Value)))
            {
                return vector;
            }

            if (deadline.Elapsed > (timeout ?? TimeSpan.FromSeconds(60)))
            {
                Assert.Fail($"'{promql}' returned no acceptable sample in time. Last answer: {last}\nPrometheus log:\n{Prometheus.Log}");
            }

            await Task.Delay(250);
        }
    }
}

[CollectionDefinition(Name)]
public sealed class RealPrometheusGroup : ICollectionFixture<PrometheusFixture>
{
    public const string Name = "Real Prometheus";
}
