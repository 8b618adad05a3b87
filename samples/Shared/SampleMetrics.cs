using System.CommandLine;
using StreamingLoader.Prometheus;

namespace StreamingLoader.Samples;

/// <summary>
/// Where a training sample serves its metrics, as the <c>streamingloader</c> CLI does: <c>--metrics-port</c> (Prometheus
/// endpoint on 127.0.0.1, default 9464), <c>--no-metrics</c>, and <c>--run-id</c> (the run's identity on every series).
/// </summary>
/// <param name="Port">The endpoint's port.</param>
/// <param name="Disabled">Whether not to serve metrics.</param>
/// <param name="RunId">The run's identity; null for a new one.</param>
internal sealed record SampleMetrics(int Port, bool Disabled, string? RunId)
{
    /// <summary>The usage lines of the three options, for a sample's usage text.</summary>
    public const string Usage = """
          --metrics-port N   serve Prometheus metrics on http://127.0.0.1:N/metrics (default 9464; see dashboards/README.md)
          --no-metrics       do not serve metrics
          --run-id ID        this run's identity on every series (default: the start time and a random suffix)
        """;

    /// <summary>Gets the defaults: port 9464, served, a new run id.</summary>
    public static SampleMetrics Default { get; } = new(MetricsServerOptions.DefaultPort, false, null);

    /// <summary>Starts the endpoint unless disabled. A port in use is reported, never fatal: training goes on without it.</summary>
    public async Task<PrometheusMetricsServer?> StartAsync(string serviceName, TextWriter log, CancellationToken cancellationToken = default)
    {
        if (Disabled)
        {
            return null;
        }

        try
        {
            var server = await PrometheusMetricsServer.StartAsync(new MetricsServerOptions { Port = Port, ServiceName = serviceName, RunId = RunId }, cancellationToken);
            await log.WriteLineAsync($"metrics: {server.Uri} (service {server.ServiceName}, run {server.RunId})");
            return server;
        }
        catch (IOException ex)
        {
            await log.WriteLineAsync($"metrics: not served ({ex.Message}); use --metrics-port or --no-metrics");
            return null;
        }
    }

    /// <summary>The options of a sample's command line; <see cref="Read"/> gives their values.</summary>
    internal sealed class Options
    {
        private readonly Option<int> _port = SampleCommandLine.Positive("--metrics-port", MetricsServerOptions.DefaultPort, "Port of the Prometheus /metrics endpoint on 127.0.0.1.");
        private readonly Option<bool> _disabled = SampleCommandLine.Flag("--no-metrics", "Do not serve metrics.");
        private readonly Option<string?> _runId = SampleCommandLine.OptionalText("--run-id", "This run's identity on every series.");

        /// <summary>Adds the options to <paramref name="command"/> and returns it.</summary>
        public RootCommand AddTo(RootCommand command)
        {
            command.Options.Add(_port);
            command.Options.Add(_disabled);
            command.Options.Add(_runId);
            return command;
        }

        public SampleMetrics Read(ParseResult result) => new(result.GetValue(_port), result.GetValue(_disabled), result.GetValue(_runId));
    }
}
