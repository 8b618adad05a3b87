using System.CommandLine;
using StreamingLoader.Prometheus;

namespace StreamingLoader.Cli;

/// <summary><c>--metrics-port</c>, <c>--no-metrics</c> and <c>--run-id</c>: the Prometheus endpoint the demo and bench serve.</summary>
internal sealed class MetricsOptions
{
    public Option<int> Port { get; } = new("--metrics-port") { Description = "Port of the Prometheus /metrics endpoint on 127.0.0.1.", DefaultValueFactory = _ => MetricsServerOptions.DefaultPort };

    public Option<bool> Disabled { get; } = new("--no-metrics") { Description = "Do not serve metrics." };

    public Option<string?> RunId { get; } = new("--run-id") { Description = "This run's identity on every series (service_instance_id); default: the start time and a random suffix." };

    public void AddTo(Command command)
    {
        command.Options.Add(Port);
        command.Options.Add(Disabled);
        command.Options.Add(RunId);
    }

    /// <summary>Starts the endpoint unless disabled; a port in use is reported, never fatal: training goes on without it.</summary>
    public async Task<PrometheusMetricsServer?> StartAsync(ParseResult result, TextWriter log, string serviceName, CancellationToken cancellationToken)
    {
        if (result.GetValue(Disabled))
        {
            return null;
        }

        try
        {
            var options = new MetricsServerOptions { Port = result.GetValue(Port), ServiceName = serviceName, RunId = result.GetValue(RunId) };
            var server = await PrometheusMetricsServer.StartAsync(options, cancellationToken);
            await log.WriteLineAsync($"metrics: {server.Uri} (service {server.ServiceName}, run {server.RunId})");
            return server;
        }
        catch (IOException ex)
        {
            await log.WriteLineAsync($"metrics: not served ({ex.Message}); use --metrics-port or --no-metrics");
            return null;
        }
    }
}
