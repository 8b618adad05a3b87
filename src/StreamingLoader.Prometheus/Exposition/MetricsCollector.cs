using System.Buffers;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace StreamingLoader.Prometheus.Exposition;

/// <summary>
/// Owns an OpenTelemetry <see cref="MeterProvider"/> over the given meters with a pull-mode reader; each
/// <see cref="Scrape"/> collects (cumulative temporality) and serializes in one go, one scrape at a time.
/// </summary>
internal sealed class MetricsCollector : IDisposable
{
    private readonly Lock _gate = new();
    private readonly MeterProvider _provider;
    private readonly ScrapeExporter _exporter;
    private readonly PrometheusSerializer _serializer;
    private readonly ByteBuffer _buffer = new();
    private readonly int _collectTimeoutMilliseconds;
    private ExpositionFormat _format;
    private bool _disposed;

    public MetricsCollector(IEnumerable<string> meterNames, ILogger logger, int collectTimeoutMilliseconds = 10_000)
    {
        ArgumentNullException.ThrowIfNull(meterNames);
        ArgumentNullException.ThrowIfNull(logger);
        _collectTimeoutMilliseconds = collectTimeoutMilliseconds;
        _serializer = new PrometheusSerializer(logger);
        _exporter = new ScrapeExporter { OnExport = metrics => _serializer.Write(metrics, _format, _buffer) };
        var reader = new BaseExportingMetricReader(_exporter) { TemporalityPreference = MetricReaderTemporalityPreference.Cumulative };
        _provider = Sdk.CreateMeterProviderBuilder()
            .AddMeter([.. meterNames.Distinct(StringComparer.Ordinal)])
            .AddReader(reader)
            .Build();
    }

    /// <summary>Collects and serializes every metric; throws when the collection fails.</summary>
    public ScrapeResult Scrape(ExpositionFormat format)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var collect = _exporter.Collect ?? throw new InvalidOperationException("The metric reader is not attached.");
            _buffer.Clear();
            _format = format;
            _exporter.Failure = null;
            if (!collect(_collectTimeoutMilliseconds))
            {
                throw new InvalidOperationException("The OpenTelemetry collection for this scrape failed.", _exporter.Failure);
            }

            var bytes = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length, 1));
            _buffer.CopyTo(bytes);
            return new ScrapeResult(bytes, _buffer.Length, format);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _provider.Dispose();
        _exporter.Dispose();
    }
}

/// <summary>The bytes of one scrape, in a pooled array that <see cref="Dispose"/> returns.</summary>
internal sealed class ScrapeResult : IDisposable
{
    private byte[]? _bytes;

    public ScrapeResult(byte[] bytes, int length, ExpositionFormat format)
    {
        _bytes = bytes;
        Length = length;
        Format = format;
    }

    public int Length { get; }

    public ExpositionFormat Format { get; }

    public ReadOnlyMemory<byte> Memory => (_bytes ?? throw new ObjectDisposedException(nameof(ScrapeResult))).AsMemory(0, Length);

    public string ContentType => ExpositionFormats.ContentType(Format);

    public override string ToString() => System.Text.Encoding.UTF8.GetString(Memory.Span);

    public void Dispose()
    {
        var bytes = Interlocked.Exchange(ref _bytes, null);
        if (bytes is not null)
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }
}
