using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using StreamingLoader.Prometheus.Exposition;
using StreamingLoader.Prometheus.Tests.Infrastructure;
using Xunit.Abstractions;

namespace StreamingLoader.Prometheus.Tests;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ScrapeTimingGroup
{
    public const string Name = "Scrape timing (runs alone)";
}

/// <summary>
/// The scrape-time goal: a pipeline with 10 stages (every loader instrument, 17-bucket latency histograms per
/// stage) plus the runtime's metrics scrapes in under 5 ms. Runs alone so other tests do not skew the timing.
/// </summary>
[Collection(ScrapeTimingGroup.Name)]
public sealed class ScrapeTimingTests(ITestOutputHelper output)
{
    private const int Warmup = 100;
    private const int Measured = 500;

    [Fact]
    public async Task Scrape_TenStagePipelineWithRuntimeMetrics_MedianUnderFiveMilliseconds()
    {
        using var meter = new Meter("timing." + Guid.NewGuid().ToString("N"));
        using var collector = new MetricsCollector([meter.Name, MetricsServerOptions.RuntimeMeterName], NullLogger.Instance);
        await using var pipeline = new SyntheticPipeline("timing", stageCount: 10, meter);
        pipeline.RecordBatch(new Random(1));

        var text = Measure(collector, ExpositionFormat.PrometheusText, out var textBytes, out var body);
        var openMetrics = Measure(collector, ExpositionFormat.OpenMetrics, out var openMetricsBytes, out _);
        var seriesLines = body.Split('\n').Count(line => line.Length > 0 && line[0] != '#');

        output.WriteLine($"10-stage pipeline + System.Runtime: {seriesLines} sample lines, {textBytes} bytes (text), {openMetricsBytes} bytes (OpenMetrics)");
        output.WriteLine($"collect + serialize, text:        {text}");
        output.WriteLine($"collect + serialize, OpenMetrics: {openMetrics}");
        Assert.True(seriesLines > 250, $"expected a full 10-stage exposition, got {seriesLines} lines");
        Assert.True(text.Median < 5.0, $"text scrape median {text.Median:F3} ms");
        Assert.True(openMetrics.Median < 5.0, $"OpenMetrics scrape median {openMetrics.Median:F3} ms");
    }

    [Fact]
    public async Task HttpScrape_TenStagePipelineOverLoopback_MedianUnderFiveMilliseconds()
    {
        using var meter = new Meter("timing.http." + Guid.NewGuid().ToString("N"));
        var options = new MetricsServerOptions { Port = 0 };
        options.AdditionalMeters.Add(meter.Name);
        await using var server = await PrometheusMetricsServer.StartAsync(options);
        await using var pipeline = new SyntheticPipeline("timing-http", stageCount: 10, meter);
        pipeline.RecordBatch(new Random(1));
        using var http = new HttpClient();

        var times = new double[Measured];
        for (var i = 0; i < Warmup + Measured; i++)
        {
            var start = Stopwatch.GetTimestamp();
            using var response = await http.GetAsync(server.Uri);
            await response.Content.ReadAsByteArrayAsync();
            if (i >= Warmup)
            {
                times[i - Warmup] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            }
        }

        var timing = new Timing(times);
        output.WriteLine($"HTTP GET /metrics over loopback (request + collect + serialize + transfer): {timing}");
        Assert.True(timing.Median < 5.0, $"HTTP scrape median {timing.Median:F3} ms");
    }

    private static Timing Measure(MetricsCollector collector, ExpositionFormat format, out int bytes, out string body)
    {
        for (var i = 0; i < Warmup; i++)
        {
            collector.Scrape(format).Dispose();
        }

        var times = new double[Measured];
        bytes = 0;
        body = string.Empty;
        for (var i = 0; i < Measured; i++)
        {
            var start = Stopwatch.GetTimestamp();
            using var result = collector.Scrape(format);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            bytes = result.Length;
            if (i == Measured - 1)
            {
                body = result.ToString();
            }
        }

        return new Timing(times);
    }

    private sealed class Timing
    {
        public Timing(double[] milliseconds)
        {
            var sorted = milliseconds.Order().ToArray();
            Median = sorted[sorted.Length / 2];
            P90 = sorted[(int)(sorted.Length * 0.9)];
            P99 = sorted[(int)(sorted.Length * 0.99)];
            Max = sorted[^1];
        }

        public double Median { get; }

        public double P90 { get; }

        public double P99 { get; }

        public double Max { get; }

        public override string ToString() => $"p50 {Median:F3} ms, p90 {P90:F3} ms, p99 {P99:F3} ms, max {Max:F3} ms";
    }
}
