using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using StreamingLoader.Datasets;
using StreamingLoader.Telemetry;

namespace StreamingLoader.Prometheus.Tests;

/// <summary>
/// An ASP.NET Core application that already uses OpenTelemetry adds the loader's metrics with the two lines the
/// README shows: <c>AddStreamingLoaderInstrumentation()</c> in its metrics setup, <c>MapPrometheusScrapingEndpoint()</c>.
/// </summary>
public sealed class AspNetCoreAppTests
{
    [Fact]
    public async Task AddStreamingLoaderInstrumentation_ExistingAspNetCoreApp_ServesLoaderMetricsWithStableVersionZeroErrorsAndMicrosecondBuckets()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0));

        // The two lines (the exporter and the endpoint are the application's own OpenTelemetry setup).
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddStreamingLoaderInstrumentation().AddPrometheusExporter());
        await using var app = builder.Build();
        app.MapPrometheusScrapingEndpoint();

        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        var pipeline = "aspnet-" + Guid.NewGuid().ToString("N")[..8];
        await using (var loader = Pipeline.From(new TensorDataset<float, long>(new float[256 * 4], [4], new long[256]))
            .Build(new LoaderOptions { Name = pipeline, BatchSize = 32, Workers = 2 }))
        {
            await foreach (var batch in loader.ReadEpochAsync())
            {
                batch.Dispose();
            }

            // Two scrapes: the first one's stage list creates each stage's error counter at zero, the second shows it.
            using var http = new HttpClient();
            await http.GetStringAsync(new Uri(address, "/metrics"));
            var body = await http.GetStringAsync(new Uri(address, "/metrics"));

            var selector = $"otel_scope_name=\"StreamingLoader\",otel_scope_version=\"{LoaderMetrics.MeterVersion}\",pipeline=\"{pipeline}\"";
            Assert.Matches($"(?m)^streamingloader_samples_total\\{{{Regex.Escape(selector)}\\}} 256", body);
            Assert.Matches($"(?m)^streamingloader_stage_workers\\{{{Regex.Escape(selector)},stage=\"collate\"\\}} 2", body);
            Assert.Matches($"(?m)^streamingloader_errors_total\\{{{Regex.Escape(selector)}(?=[^}}]*stage=\"collate\")(?=[^}}]*policy=\"fail\")[^}}]*\\}} 0$", body);
            Assert.Matches($"(?m)^streamingloader_stage_queue_capacity\\{{{Regex.Escape(selector)},stage=\"prefetch\"\\}} 4", body);
            var buckets = Regex.Matches(body, $"(?m)^streamingloader_stage_duration_seconds_bucket\\{{{Regex.Escape(selector)},stage=\"collate\",le=\"(?<le>[^\"]+)\"\\}}")
                .Select(m => m.Groups["le"].Value)
                .ToList();
            Assert.Equal(LoaderMetrics.StageDurationBuckets.Select(b => b.ToString("R", System.Globalization.CultureInfo.InvariantCulture)).Append("+Inf"), buckets);
        }

        await app.StopAsync();
    }
}
