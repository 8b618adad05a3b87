using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;

namespace StreamingLoader.Prometheus.Tests;

/// <summary>
/// What the host does to the exporter's answer: no OpenMetrics <c>_created</c> lines (gzipped, as Prometheus asks for
/// it, or not), and the run's identity on every sample.
/// </summary>
public sealed class ScrapeContentTests : IDisposable
{
    private readonly Meter _meter = new("test.scrape." + Guid.NewGuid().ToString("N"));
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public void Dispose()
    {
        _http.Dispose();
        _meter.Dispose();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Scrape_OpenMetrics_NoCreatedLinesGzippedOrNot(bool gzip)
    {
        await using var server = await PrometheusMetricsServer.StartAsync(Options());
        _meter.CreateCounter<long>("servertest.reads", "{sample}").Add(3, new KeyValuePair<string, object?>("pipeline", "created-test"));
        _meter.CreateHistogram<double>("servertest.latency", "s").Record(0.5);
        using var http = new HttpClient(new HttpClientHandler { AutomaticDecompression = System.Net.DecompressionMethods.None });
        using var request = new HttpRequestMessage(HttpMethod.Get, server.Uri);
        request.Headers.TryAddWithoutValidation("Accept", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5");
        if (gzip)
        {
            request.Headers.TryAddWithoutValidation("Accept-Encoding", "gzip");
        }

        using var response = await http.SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var body = System.Text.Encoding.UTF8.GetString(gzip ? Hosting.Gzip.Decompress(bytes) : bytes);

        // Prometheus asks for gzip: the exporter compresses, and the lines are dropped inside.
        Assert.Equal(gzip ? ["gzip"] : [], response.Content.Headers.ContentEncoding);
        Assert.Equal(bytes.Length, response.Content.Headers.ContentLength);
        AssertSample(body, "servertest_reads_total", "pipeline=\"created-test\"", "3");
        Assert.Contains("servertest_latency_seconds_count{", body, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"(?m)^\w+_created[{ ]", body);
        Assert.EndsWith("# EOF\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public void CreatedLineFilter_CounterHistogramAndGauge_DropsOnlyTheStartTimesOfCountersAndHistograms()
    {
        const string Body = """
            # TYPE reads counter
            reads_total{a="1"} 3
            reads_created{a="1"} 1.7e9
            # TYPE latency_seconds histogram
            latency_seconds_bucket{le="+Inf"} 1
            latency_seconds_count 1
            latency_seconds_created 1.7e9
            # TYPE jobs_created gauge
            jobs_created 4
            # TYPE files counter
            files_created_total 2
            # EOF

            """;

        var filtered = Hosting.CreatedLineFilter.Filter(Body.ReplaceLineEndings("\n"));

        Assert.Equal(Body.ReplaceLineEndings("\n").Replace("reads_created{a=\"1\"} 1.7e9\n", string.Empty, StringComparison.Ordinal).Replace("latency_seconds_created 1.7e9\n", string.Empty, StringComparison.Ordinal), filtered);
    }

    [Fact]
    public async Task Scrape_RunIdentity_OnEverySampleAndInTargetInfo()
    {
        var options = Options();
        options.ServiceName = "identity-test";
        options.RunId = "run-7";
        await using var named = await PrometheusMetricsServer.StartAsync(options);
        await using var unnamed = await PrometheusMetricsServer.StartAsync(Options());
        _meter.CreateCounter<long>("servertest.identity").Add(1);

        var body = await _http.GetStringAsync(named.Uri);

        Assert.Equal(("identity-test", "run-7"), (named.ServiceName, named.RunId));
        var samples = body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(line => !line.StartsWith('#')).ToList();
        Assert.NotEmpty(samples);
        Assert.All(samples, line => Assert.Contains("service_name=\"identity-test\"", line, StringComparison.Ordinal));
        Assert.All(samples, line => Assert.Contains("service_instance_id=\"run-7\"", line, StringComparison.Ordinal));
        Assert.Contains(samples, line => line.StartsWith("target_info{", StringComparison.Ordinal));

        // A run without a name gets its start time and a random suffix; the service, the entry assembly's name.
        Assert.Matches(@"^\d{8}T\d{6}Z-[0-9a-f]{6}$", unnamed.RunId);
        Assert.NotEqual(unnamed.RunId, (await PrometheusMetricsServer.StartAsync(Options())).RunId);
        Assert.False(string.IsNullOrWhiteSpace(unnamed.ServiceName));
    }

    /// <summary>Asserts a sample line <c>name{...label...} value</c>.</summary>
    private static void AssertSample(string body, string name, string label, string valuePattern) =>
        Assert.Matches(new Regex($"(?m)^{Regex.Escape(name)}\\{{[^}}\n]*{Regex.Escape(label)}[^}}\n]*\\}} {valuePattern}$"), body);

    private MetricsServerOptions Options()
    {
        var options = new MetricsServerOptions { Port = 0, IncludeRuntimeMetrics = false };
        options.AdditionalMeters.Add(_meter.Name);
        return options;
    }
}
