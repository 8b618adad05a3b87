using System.CommandLine;
using StreamingLoader.Prometheus;

namespace StreamingLoader.Cli;

/// <summary><c>--metrics-port</c> and <c>--no-metrics</c>: the Prometheus endpoint the demo and bench serve.</summary>
internal sealed class MetricsOptions
{
    public Option<int> Port { get; } = new("--metrics-port") { Description = "Port of the Prometheus /metrics endpoint on 127.0.0.1.", DefaultValueFactory = _ => MetricsServerOptions.DefaultPort };

    public Option<bool> Disabled { get; } = new("--no-metrics") { Description = "Do not serve metrics." };

    public void AddTo(Command command)
    {
        command.Options.Add(Port);
        command.Options.Add(Disabled);
    }

    /// <summary>Starts the endpoint unless disabled; a port in use is reported, never fatal: training goes on without it.</summary>
    public async Task<PrometheusMetricsServer?> StartAsync(ParseResult result, TextWriter log, CancellationToken cancellationToken)
    {
        if (result.GetValue(Disabled))
        {
            return null;
        }

        try
        {
            var server = await PrometheusMetricsServer.StartAsync(new MetricsServerOptions { Port = result.GetValue(Port) }, cancellationToken);
            await log.WriteLineAsync($"metrics: {server.Uri}");
            return server;
        }
        catch (IOException ex)
        {
            await log.WriteLineAsync($"metrics: not served ({ex.Message}); use --metrics-port or --no-metrics");
            return null;
        }
    }
}
