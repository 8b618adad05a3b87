using System.Diagnostics;
using System.Text.Json;

namespace StreamingLoader.Prometheus.Tests.Infrastructure;

/// <summary>
/// For the integration tests: our metrics endpoint on a free loopback port, a real StreamingLoader pipeline
/// running behind it, and Debian's Prometheus scraping it every second with the repository's prometheus.yml
/// (target and interval rewritten). A second process, the CLI's demo, runs a pipeline of the same name and is
/// scraped as a second job, so anything a query fails to scope to one job and instance shows up as mixed data.
/// Everything is stopped at the end.
/// </summary>
public sealed class PrometheusFixture : IAsyncLifetime
{
    /// <summary>The job of the second process.</summary>
    public const string DemoJob = "streamingloader-demo";

    /// <summary>The pipeline name, the same in both processes (the demo's).</summary>
    public string PipelineName { get; } = "demo";

    /// <summary>This process's target, the <c>instance</c> label of its series.</summary>
    public string Instance => $"127.0.0.1:{Metrics.Uri.Port}";

    /// <summary>The demo process's target.</summary>
    public string DemoInstance => $"127.0.0.1:{Demo.Port}";

    /// <summary>A selector of this process's series of the pipeline.</summary>
    public string Selector => $"job=\"streamingloader\", instance=\"{Instance}\", pipeline=\"{PipelineName}\"";

    internal PrometheusMetricsServer Metrics { get; private set; } = null!;

    internal TrainingLoop Loop { get; private set; } = null!;

    internal PrometheusProcess Prometheus { get; private set; } = null!;

    internal TrainingProcess Demo { get; private set; } = null!;

    internal string ScrapeConfig { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        // The endpoint first: measurements made before OpenTelemetry listens are not collected.
        Metrics = await PrometheusMetricsServer.StartAsync(new MetricsServerOptions { Port = 0 });
        Loop = new TrainingLoop(PipelineName);
        Demo = await TrainingProcess.StartDemoAsync();
        ScrapeConfig = Repository.PrometheusConfigFor(Metrics.Uri.Port, scrapeSeconds: 1) + $"""

              - job_name: {DemoJob}
                scrape_interval: 1s
                scrape_timeout: 1s
                static_configs:
                  - targets:
                      - {DemoInstance}

            """;
        Prometheus = await PrometheusProcess.StartAsync(ScrapeConfig);
    }

    public async Task DisposeAsync()
    {
        if (Prometheus is not null)
        {
            await Prometheus.DisposeAsync();
        }

        if (Demo is not null)
        {
            await Demo.DisposeAsync();
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
                Assert.Fail($"'{promql}' returned no acceptable sample in time. Last answer: {last}\nPrometheus log:\n{Prometheus.Log}\nDemo process:\n{Demo.Output}");
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
