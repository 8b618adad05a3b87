using OpenTelemetry.Metrics;
using StreamingLoader.Telemetry;

namespace StreamingLoader.Prometheus;

/// <summary>Adds StreamingLoader's metrics to an OpenTelemetry <see cref="MeterProviderBuilder"/>.</summary>
/// <remarks>
/// <para>In an ASP.NET Core application that already has OpenTelemetry, two lines serve the loader's metrics:</para>
/// <code>
/// builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddStreamingLoaderInstrumentation().AddPrometheusExporter());
/// app.MapPrometheusScrapingEndpoint();
/// </code>
/// </remarks>
public static class StreamingLoaderMeterProviderBuilderExtensions
{
    /// <summary>The meter of the TorchSharp training consumer (input wait, step time, bytes to the device).</summary>
    /// <remarks>Named here rather than referenced, so that serving metrics does not bring in TorchSharp.</remarks>
    public const string TorchSharpMeterName = "StreamingLoader.TorchSharp";

    /// <summary>
    /// Collects the <see cref="LoaderMetrics.MeterName"/> meter, with the stage latency histogram's buckets set to
    /// <see cref="LoaderMetrics.StageDurationBuckets"/> (1 µs to 100 ms) by a view, and the TorchSharp consumer's meter
    /// (<see cref="TorchSharpMeterName"/>), which has data whenever that consumer is in use.
    /// </summary>
    /// <param name="builder">The meter provider builder.</param>
    /// <returns>The same builder, for chaining.</returns>
    public static MeterProviderBuilder AddStreamingLoaderInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .AddMeter(LoaderMetrics.MeterName, TorchSharpMeterName)
            .AddView(LoaderMetrics.StageDurationName, new ExplicitBucketHistogramConfiguration { Boundaries = [.. LoaderMetrics.StageDurationBuckets] })
            .AddView(LoaderMetrics.IngestLagName, new ExplicitBucketHistogramConfiguration { Boundaries = [.. LoaderMetrics.IngestLagBuckets] });
    }
}
