using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StreamingLoader.Prometheus.Exposition;

namespace StreamingLoader.Prometheus.Tests.Infrastructure;

/// <summary>
/// The real OpenTelemetry SDK and our serializer over one private meter (a unique name, so tests running in
/// parallel never see each other's instruments).
/// </summary>
internal sealed class TestCollector : IDisposable
{
    private readonly MetricsCollector _collector;

    public TestCollector(ILogger? logger = null, params string[] extraMeters)
    {
        Meter = new Meter("test." + Guid.NewGuid().ToString("N"));
        _collector = new MetricsCollector([Meter.Name, .. extraMeters], logger ?? NullLogger.Instance);
    }

    public Meter Meter { get; }

    public string Text() => Scrape(ExpositionFormat.PrometheusText);

    public string OpenMetrics() => Scrape(ExpositionFormat.OpenMetrics);

    public string Scrape(ExpositionFormat format)
    {
        using var result = _collector.Scrape(format);
        return result.ToString();
    }

    public void Dispose()
    {
        _collector.Dispose();
        Meter.Dispose();
    }
}

/// <summary>A logger provider that keeps what is logged, to assert that failures are logged rather than thrown.</summary>
internal sealed class ListLoggerProvider : ILoggerProvider
{
    private readonly List<(LogLevel Level, string Message, Exception? Exception)> _entries = [];

    public IReadOnlyList<(LogLevel Level, string Message, Exception? Exception)> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new ListLogger(this);

    public void Dispose()
    {
    }

    private void Add(LogLevel level, string message, Exception? exception)
    {
        lock (_entries)
        {
            _entries.Add((level, message, exception));
        }
    }

    private sealed class ListLogger(ListLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Add(logLevel, formatter(state, exception), exception);
    }
}
