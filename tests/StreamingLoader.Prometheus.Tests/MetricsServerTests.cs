using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using StreamingLoader.Prometheus.Tests.Infrastructure;

namespace StreamingLoader.Prometheus.Tests;

/// <summary>
/// The one-line host around OpenTelemetry's Prometheus exporter middleware, started on a free loopback port and
/// scraped over real HTTP: what the host adds (address, path, methods, runtime meter, lifetime), not the exporter's
/// serialization, which the real-Prometheus tests check as a contract.
/// </summary>
public sealed class MetricsServerTests : IDisposable
{
    private readonly Meter _meter = new("test.server." + Guid.NewGuid().ToString("N"));
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public void Dispose()
    {
        _http.Dispose();
        _meter.Dispose();
    }

    [Fact]
    public async Task StartAsync_PortZero_ReportsTheBoundLoopbackUrl()
    {
        await using var server = await PrometheusMetricsServer.StartAsync(Options());

        Assert.Equal("http", server.Uri.Scheme);
        Assert.Equal("127.0.0.1", server.Uri.Host);
        Assert.NotEqual(0, server.Uri.Port);
        Assert.Equal("/metrics", server.Uri.AbsolutePath);
        Assert.Equal(server.Uri.ToString(), server.ToString());
    }

    [Fact]
    public void Options_Defaults_LoopbackPort9464Metrics()
    {
        var options = new MetricsServerOptions();

        Assert.Equal(IPAddress.Loopback, options.Address);
        Assert.Equal(9464, options.Port);
        Assert.Equal(MetricsServerOptions.DefaultPort, options.Port);
        Assert.Equal("/metrics", options.Path);
        Assert.True(options.IncludeRuntimeMetrics);
        Assert.Empty(options.AdditionalMeters);
        Assert.Null(options.LoggerFactory);
    }

    [Fact]
    public void Options_InvalidValues_ThrowFromSetters()
    {
        var options = new MetricsServerOptions();

        Assert.Throws<ArgumentOutOfRangeException>(() => options.Port = -1);
        Assert.Throws<ArgumentOutOfRangeException>(() => options.Port = 65536);
        Assert.Throws<ArgumentException>(() => options.Path = "metrics");
        Assert.Throws<ArgumentException>(() => options.Path = "/metrics?x=1");
        Assert.Throws<ArgumentException>(() => options.Path = " ");
        Assert.Throws<ArgumentNullException>(() => options.Address = null!);
        Assert.Equal(9464, options.Port);
        Assert.Equal("/metrics", options.Path);
    }

    [Fact]
    public async Task Scrape_NoAcceptHeader_PrometheusTextWithTheMeter()
    {
        await using var server = await PrometheusMetricsServer.StartAsync(Options());
        _meter.CreateCounter<long>("servertest.samples", "{sample}", "Samples delivered to the consumer.").Add(42, new KeyValuePair<string, object?>("pipeline", "server-test"));

        using var response = await _http.GetAsync(server.Uri);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Contains("# TYPE servertest_samples_total counter\n", body, StringComparison.Ordinal);
        AssertSample(body, "servertest_samples_total", "pipeline=\"server-test\"", "42");
        Assert.DoesNotContain("# EOF", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scrape_PrometheusDefaultAcceptHeader_OpenMetricsEndingInEof()
    {
        await using var server = await PrometheusMetricsServer.StartAsync(Options());
        _meter.CreateCounter<long>("servertest.samples", "{sample}", "Samples delivered to the consumer.").Add(42, new KeyValuePair<string, object?>("pipeline", "server-test"));
        using var request = new HttpRequestMessage(HttpMethod.Get, server.Uri);
        request.Headers.TryAddWithoutValidation("Accept", "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");

        using var response = await _http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("application/openmetrics-text; version=1.0.0; charset=utf-8", response.Content.Headers.ContentType?.ToString(), StringComparison.Ordinal);
        Assert.Contains("# TYPE servertest_samples counter\n", body, StringComparison.Ordinal);
        AssertSample(body, "servertest_samples_total", "pipeline=\"server-test\"", "42");
        Assert.EndsWith("# EOF\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scrape_RuntimeMetricsOn_ServesProcessCpuMemoryAndGc()
    {
        GC.Collect();
        await using var server = await PrometheusMetricsServer.StartAsync(Options(runtime: true));

        var body = await _http.GetStringAsync(server.Uri);

        Assert.Contains("# TYPE dotnet_process_cpu_time_seconds_total counter\n", body, StringComparison.Ordinal);
        AssertSample(body, "dotnet_process_cpu_time_seconds_total", "cpu_mode=\"user\"", "[0-9.e+-]+");
        Assert.Contains("# TYPE dotnet_process_memory_working_set_bytes gauge\n", body, StringComparison.Ordinal);
        Assert.Contains("# TYPE dotnet_gc_collections_total counter\n", body, StringComparison.Ordinal);
        AssertSample(body, "dotnet_gc_collections_total", "gc_heap_generation=\"gen0\"", "[0-9]+");
        Assert.Contains("# TYPE dotnet_gc_heap_total_allocated_bytes_total counter\n", body, StringComparison.Ordinal);
        Assert.Contains("# TYPE dotnet_gc_pause_time_seconds_total counter\n", body, StringComparison.Ordinal);
        Assert.Contains("# TYPE dotnet_gc_last_collection_heap_size_bytes gauge\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scrape_RuntimeMetricsOff_ServesNoDotnetMetrics()
    {
        await using var server = await PrometheusMetricsServer.StartAsync(Options(runtime: false));
        _meter.CreateCounter<long>("only.mine").Add(1);

        var body = await _http.GetStringAsync(server.Uri);

        AssertSample(body, "only_mine_total", string.Empty, "1");
        Assert.DoesNotContain("dotnet_", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scrape_CustomPath_ServesThereAnd404Elsewhere()
    {
        var options = Options();
        options.Path = "/custom/metrics";
        await using var server = await PrometheusMetricsServer.StartAsync(options);

        using var hit = await _http.GetAsync(server.Uri);
        using var miss = await _http.GetAsync(new Uri(server.Uri, "/metrics"));

        Assert.Equal("/custom/metrics", server.Uri.AbsolutePath);
        Assert.Equal(HttpStatusCode.OK, hit.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, miss.StatusCode);
    }

    [Fact]
    public async Task Scrape_PostOrHead_405WithAllowOrOkWithoutBody()
    {
        await using var server = await PrometheusMetricsServer.StartAsync(Options());
        _meter.CreateCounter<long>("head.check").Add(1);

        using var post = await _http.PostAsync(server.Uri, new StringContent(string.Empty));
        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, server.Uri));
        var headBody = await head.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Contains("GET", post.Content.Headers.Allow);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Empty(headBody);
    }

    [Fact]
    public async Task Scrape_ObservableCallbackThrows_StillServesTheOtherMetrics()
    {
        _meter.CreateObservableGauge<long>("broken.gauge", (Func<long>)(() => throw new InvalidOperationException("callback failure")));
        await using var server = await PrometheusMetricsServer.StartAsync(Options());
        _meter.CreateCounter<long>("fine.counter").Add(3);

        using var response = await _http.GetAsync(server.Uri);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        AssertSample(body, "fine_counter_total", string.Empty, "3");
        Assert.DoesNotContain("broken_gauge", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Scrape_ObservableCallbackThrows_OpenTelemetryWarningLoggedAndStartLogged()
    {
        using var logs = new ListLoggerProvider();
        using var factory = LoggerFactory.Create(builder => builder.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        var options = Options();
        options.LoggerFactory = factory;
        _meter.CreateObservableGauge<long>("throwing.gauge", (Func<long>)(() => throw new InvalidOperationException("callback failure 7f3a")));
        await using var server = await PrometheusMetricsServer.StartAsync(options);

        using var response = await _http.GetAsync(server.Uri);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Information && e.Message.Contains(server.Uri.ToString(), StringComparison.Ordinal));
        Assert.Contains(logs.Entries, e => e.Level >= LogLevel.Warning && e.Message.StartsWith("OpenTelemetry-", StringComparison.Ordinal) && e.Message.Contains("callback failure 7f3a", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Scrape_ManyConcurrentScrapes_AllSucceedWithTheSameCounters()
    {
        await using var server = await PrometheusMetricsServer.StartAsync(Options());
        _meter.CreateCounter<long>("concurrent").Add(9);

        var bodies = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => _http.GetStringAsync(server.Uri)));

        Assert.All(bodies, body => AssertSample(body, "concurrent_total", string.Empty, "9"));
    }

    [Fact]
    public async Task StartAsync_PortInUse_ThrowsIOException()
    {
        using var blocker = new TcpListener(IPAddress.Loopback, 0);
        blocker.Start();
        var options = Options();
        options.Port = ((IPEndPoint)blocker.LocalEndpoint).Port;

        await Assert.ThrowsAnyAsync<IOException>(() => PrometheusMetricsServer.StartAsync(options));
    }

    [Fact]
    public async Task StartAsync_Canceled_ThrowsOperationCanceled()
    {
        using var canceled = new CancellationTokenSource();
        await canceled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => PrometheusMetricsServer.StartAsync(Options(), canceled.Token));
    }

    [Fact]
    public async Task DisposeAsync_Twice_StopsListeningAndRecordingStillWorks()
    {
        var counter = _meter.CreateCounter<long>("after.dispose");
        var server = await PrometheusMetricsServer.StartAsync(Options());
        var uri = server.Uri;

        await server.DisposeAsync();
        await server.DisposeAsync();
        server.Dispose();
        counter.Add(1);

        await Assert.ThrowsAsync<HttpRequestException>(() => _http.GetAsync(uri));
    }

    [Fact]
    public async Task StartAsync_OptionsChangedAfterStart_ServerKeepsItsCopy()
    {
        var options = Options();
        await using var server = await PrometheusMetricsServer.StartAsync(options);
        options.Path = "/changed";

        using var response = await _http.GetAsync(server.Uri);

        Assert.Equal("/metrics", server.Uri.AbsolutePath);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Scrape_TwoServersInOneProcess_EachServesTheMeter()
    {
        await using var first = await PrometheusMetricsServer.StartAsync(Options());
        await using var second = await PrometheusMetricsServer.StartAsync(Options());
        _meter.CreateCounter<long>("twice").Add(2);

        Assert.NotEqual(first.Uri.Port, second.Uri.Port);
        AssertSample(await _http.GetStringAsync(first.Uri), "twice_total", string.Empty, "2");
        AssertSample(await _http.GetStringAsync(second.Uri), "twice_total", string.Empty, "2");
    }

    /// <summary>Asserts a sample line <c>name{...label...} value</c> (the exporter adds <c>otel_scope_*</c> labels).</summary>
    private static void AssertSample(string body, string name, string label, string valuePattern) =>
        Assert.Matches(new Regex($"(?m)^{Regex.Escape(name)}\\{{[^}}\n]*{Regex.Escape(label)}[^}}\n]*\\}} {valuePattern}$"), body);

    private MetricsServerOptions Options(bool runtime = false)
    {
        var options = new MetricsServerOptions { Port = 0, IncludeRuntimeMetrics = runtime };
        options.AdditionalMeters.Add(_meter.Name);
        return options;
    }
}
