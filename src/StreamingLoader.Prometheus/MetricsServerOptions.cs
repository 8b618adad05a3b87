using System.Globalization;
using System.Net;
using System.Reflection;
using Microsoft.Extensions.Logging;
using StreamingLoader.Telemetry;

namespace StreamingLoader.Prometheus;

/// <summary>Options for <see cref="PrometheusMetricsServer"/>.</summary>
/// <remarks>
/// Defaults: <see cref="Address"/> <c>127.0.0.1</c>, <see cref="Port"/> <see cref="DefaultPort"/> (9464, the port
/// OpenTelemetry reserves for Prometheus exporters), <see cref="Path"/> <c>/metrics</c>,
/// <see cref="IncludeRuntimeMetrics"/> <see langword="true"/>, no <see cref="AdditionalMeters"/>, no logging,
/// <see cref="ServiceName"/> from <c>OTEL_SERVICE_NAME</c> or the entry assembly's name, a new <see cref="RunId"/>.
/// The server copies the options when it starts; later changes do not affect it.
/// </remarks>
public sealed class MetricsServerOptions
{
    /// <summary>The default port, 9464.</summary>
    public const int DefaultPort = 9464;

    /// <summary>The default path, <c>/metrics</c>.</summary>
    public const string DefaultPath = "/metrics";

    /// <summary>The meter of the .NET runtime's own metrics (process CPU and memory, GC, JIT, thread pool).</summary>
    public const string RuntimeMeterName = "System.Runtime";

    private IPAddress _address = IPAddress.Loopback;
    private int _port = DefaultPort;
    private string _path = DefaultPath;

    /// <summary>The address to listen on; loopback by default. <see cref="IPAddress.Any"/> exposes it to the network.</summary>
    /// <exception cref="ArgumentNullException">The value is <see langword="null"/>.</exception>
    public IPAddress Address
    {
        get => _address;
        set => _address = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>The TCP port; <c>0</c> lets the system pick a free one (read it back from <see cref="PrometheusMetricsServer.Uri"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not in 0–65535.</exception>
    public int Port
    {
        get => _port;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, IPEndPoint.MaxPort);
            _port = value;
        }
    }

    /// <summary>The path that serves the metrics; it starts with <c>/</c>.</summary>
    /// <exception cref="ArgumentException">The value is empty, does not start with <c>/</c>, or has a query or fragment.</exception>
    public string Path
    {
        get => _path;
        set
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value);
            if (value[0] != '/' || value.AsSpan().IndexOfAny('?', '#') >= 0 || value.Contains(' ', StringComparison.Ordinal))
            {
                throw new ArgumentException("The path must start with '/' and have no query, fragment or space.", nameof(value));
            }

            _path = value;
        }
    }

    /// <summary>Whether to also serve the runtime's <see cref="RuntimeMeterName"/> meter (process CPU and memory, GC).</summary>
    public bool IncludeRuntimeMetrics { get; set; } = true;

    /// <summary>
    /// The service name every series carries as <c>service_name</c> (OpenTelemetry's <c>service.name</c>); null for
    /// <c>OTEL_SERVICE_NAME</c> when set, else the entry assembly's name.
    /// </summary>
    public string? ServiceName { get; set; }

    /// <summary>
    /// The run's identity every series carries as <c>service_instance_id</c> (OpenTelemetry's <c>service.instance.id</c>),
    /// so two runs of one job on one port are told apart; null for a new one, the start time and a random suffix
    /// (<c>20250102T030405Z-1a2b3c</c>).
    /// </summary>
    public string? RunId { get; set; }

    /// <summary>Names of further meters to serve beside <see cref="LoaderMetrics.MeterName"/> (for example the application's own).</summary>
    public IList<string> AdditionalMeters { get; } = new List<string>();

    /// <summary>
    /// Where the endpoint logs its start and OpenTelemetry's warnings and errors (failed scrapes, callbacks that threw,
    /// metrics left out); nothing is logged when <see langword="null"/>.
    /// </summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    internal MetricsServerOptions Clone()
    {
        var clone = new MetricsServerOptions
        {
            Address = Address,
            Port = Port,
            Path = Path,
            IncludeRuntimeMetrics = IncludeRuntimeMetrics,
            LoggerFactory = LoggerFactory,
            ServiceName = string.IsNullOrWhiteSpace(ServiceName) ? null : ServiceName,
            RunId = string.IsNullOrWhiteSpace(RunId) ? null : RunId,
        };

        foreach (var meter in AdditionalMeters)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(meter, nameof(AdditionalMeters));
            clone.AdditionalMeters.Add(meter);
        }

        return clone;
    }

    /// <summary>A new run identity: the UTC start time to the second and six random hex digits.</summary>
    internal static string NewRunId() =>
        string.Create(CultureInfo.InvariantCulture, $"{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}-{Random.Shared.Next(0x1000000):x6}");

    /// <summary>The service name: <see cref="ServiceName"/>, else <c>OTEL_SERVICE_NAME</c>, else the entry assembly's name.</summary>
    internal string EffectiveServiceName() =>
        ServiceName
        ?? (Environment.GetEnvironmentVariable("OTEL_SERVICE_NAME") is { Length: > 0 } fromEnvironment ? fromEnvironment : null)
        ?? Assembly.GetEntryAssembly()?.GetName().Name
        ?? "streamingloader";

    /// <summary>The meters served beside the loader's own.</summary>
    internal IEnumerable<string> MeterNames()
    {
        if (IncludeRuntimeMetrics)
        {
            yield return RuntimeMeterName;
        }

        foreach (var meter in AdditionalMeters)
        {
            yield return meter;
        }
    }
}
