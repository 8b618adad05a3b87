using System.Net.Http.Headers;
using BenchmarkDotNet.Attributes;
using StreamingLoader.Prometheus;
using StreamingLoader.Datasets;

namespace StreamingLoader.Benchmarks;

/// <summary>
/// The cost of one Prometheus scrape of <see cref="PrometheusMetricsServer"/> over loopback HTTP (collection by the
/// OpenTelemetry SDK and serialization by its Prometheus exporter), with the runtime's metrics and two live pipelines
/// of five and six stages (a shuffle buffer in the second), as the text format, as OpenMetrics, and as OpenMetrics
/// gzipped, as Prometheus asks for it (the server unzips, drops the <c>_created</c> lines and zips again).
/// </summary>
[MemoryDiagnoser]
public class ScrapeBenchmarks
{
    private PrometheusMetricsServer _server = null!;
    private DataLoader[] _loaders = [];
    private static readonly HttpClient Http = new();

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _server = await PrometheusMetricsServer.StartAsync(new MetricsServerOptions { Port = 0 });
        var dataset = new TensorDataset<float, long>(new float[4096 * 16], [16], new long[4096]);
        _loaders =
        [
            Pipeline.From(dataset).Transform((s, _) => s).Build(new LoaderOptions { Name = "scrape-a", BatchSize = 64, Workers = 2 }),
            Pipeline.From(dataset).Transform((s, _) => s).Build(new LoaderOptions { Name = "scrape-b", BatchSize = 64, Workers = 2, ShuffleBufferSize = 512 }),
        ];
        foreach (var loader in _loaders)
        {
            await foreach (var batch in loader.ReadEpochAsync())
            {
                batch.Dispose();
            }
        }
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        foreach (var loader in _loaders)
        {
            await loader.DisposeAsync();
        }

        await _server.DisposeAsync();
    }

    [Benchmark(Description = "scrape, Prometheus text")]
    public Task<byte[]> Text() => Http.GetByteArrayAsync(_server.Uri);

    [Benchmark(Description = "scrape, OpenMetrics")]
    public async Task<byte[]> OpenMetrics()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _server.Uri);
        request.Headers.Accept.Add(MediaTypeWithQualityHeaderValue.Parse("application/openmetrics-text;version=1.0.0"));
        using var response = await Http.SendAsync(request);
        return await response.Content.ReadAsByteArrayAsync();
    }

    [Benchmark(Description = "scrape, OpenMetrics gzipped (as Prometheus asks)")]
    public async Task<byte[]> OpenMetricsGzipped()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _server.Uri);
        request.Headers.Accept.Add(MediaTypeWithQualityHeaderValue.Parse("application/openmetrics-text;version=1.0.0"));
        request.Headers.AcceptEncoding.Add(new StringWithQualityHeaderValue("gzip"));
        using var response = await Http.SendAsync(request);
        return await response.Content.ReadAsByteArrayAsync();
    }
}
