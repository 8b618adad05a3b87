using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using StreamingLoader.Prometheus.Hosting;
using StreamingLoader.Telemetry;

namespace StreamingLoader.Prometheus;

/// <summary>
/// A Prometheus scrape endpoint for StreamingLoader's metrics, for training processes that are not web applications:
/// a small Kestrel server (by default on <c>http://127.0.0.1:9464/metrics</c>) that hosts OpenTelemetry's own
/// Prometheus exporter middleware (<c>OpenTelemetry.Exporter.Prometheus.AspNetCore</c>) over a meter provider that
/// collects the <see cref="LoaderMetrics.MeterName"/> meter and the runtime's <c>System.Runtime</c> meter. It answers
/// in the Prometheus text format, or OpenMetrics when the scrape's <c>Accept</c> header asks for it (as Prometheus does),
/// without OpenMetrics' <c>_created</c> lines (Prometheus 2 would store each as a series of its own).
/// </summary>
/// <remarks>
/// <para>One line enables it for every pipeline in the process:</para>
/// <code>await using var metrics = await PrometheusMetricsServer.StartAsync(new MetricsServerOptions { Port = 9464 }, cancellationToken);</code>
/// <para>
/// Scrapes run on the server's threads, never on the training loop's. A scrape that fails is answered with status 500
/// and logged (OpenTelemetry's warnings and errors go to <see cref="MetricsServerOptions.LoggerFactory"/>); it never
/// throws into the caller. Every scrape collects afresh
/// (the exporter's response cache is off), so two Prometheus servers scraping one process see current values.
/// Disposing stops the server and the OpenTelemetry collection; it never throws either.
/// </para>
/// <para>
/// Every series carries the run's identity as labels: <c>service_name</c> (<see cref="MetricsServerOptions.ServiceName"/>)
/// and <c>service_instance_id</c> (<see cref="MetricsServerOptions.RunId"/>, new for each run by default), from the
/// OpenTelemetry resource that <c>target_info</c> describes in full.
/// </para>
/// <para>
/// An ASP.NET Core application adds the loader's meter to its own OpenTelemetry setup instead: see
/// <see cref="StreamingLoaderMeterProviderBuilderExtensions.AddStreamingLoaderInstrumentation"/>.
/// </para>
/// </remarks>
public sealed class PrometheusMetricsServer : IAsyncDisposable, IDisposable
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    private readonly WebApplication _app;
    private readonly MeterProvider _meterProvider;
    private readonly ILogger _logger;
    private readonly OpenTelemetryEventLogger? _events;
    private int _disposed;

    private PrometheusMetricsServer(WebApplication app, MeterProvider meterProvider, ILogger logger, OpenTelemetryEventLogger? events, Uri uri, string serviceName, string runId)
    {
        _app = app;
        _meterProvider = meterProvider;
        _logger = logger;
        _events = events;
        Uri = uri;
        ServiceName = serviceName;
        RunId = runId;
    }

    /// <summary>
    /// The URL the metrics are served at, with the port actually bound (so a <see cref="MetricsServerOptions.Port"/>
    /// of 0 reads back the port the system picked), e.g. <c>http://127.0.0.1:9464/metrics</c>.
    /// </summary>
    public Uri Uri { get; }

    /// <summary>Gets the service name every series carries (<c>service_name</c>).</summary>
    public string ServiceName { get; }

    /// <summary>Gets the run's identity every series carries (<c>service_instance_id</c>).</summary>
    public string RunId { get; }

    /// <summary>Starts the endpoint and returns once it listens.</summary>
    /// <param name="options">Where and what to serve; <see langword="null"/> for the defaults.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server; dispose it to stop it.</returns>
    /// <exception cref="IOException">The address and port cannot be bound (for example, the port is in use).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was canceled.</exception>
    public static async Task<PrometheusMetricsServer> StartAsync(MetricsServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        var settings = (options ?? new MetricsServerOptions()).Clone();
        var loggerFactory = settings.LoggerFactory ?? NullLoggerFactory.Instance;
        var logger = loggerFactory.CreateLogger<PrometheusMetricsServer>();

        var events = settings.LoggerFactory is null ? null : new OpenTelemetryEventLogger(logger);
        var serviceName = settings.EffectiveServiceName();
        var runId = settings.RunId ?? MetricsServerOptions.NewRunId();
        var meterProvider = Sdk.CreateMeterProviderBuilder()
            .ConfigureResource(resource => resource.AddService(serviceName, serviceInstanceId: runId, autoGenerateServiceInstanceId: false))
            .AddStreamingLoaderInstrumentation()
            .AddMeter([.. settings.MeterNames()])
            .AddPrometheusExporter(exporter =>
            {
                exporter.ScrapeResponseCacheDurationMilliseconds = 0;
                exporter.ResourceConstantLabels = key => key is RunIdentityServiceName or RunIdentityInstanceId;
            })
            .Build();
        WebApplication? app = null;
        try
        {
            var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
            {
                ApplicationName = typeof(PrometheusMetricsServer).Assembly.GetName().Name,
            });

            builder.WebHost.UseSetting(WebHostDefaults.PreventHostingStartupKey, "true");
            builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
            {
                kestrel.AddServerHeader = false;
                kestrel.Listen(settings.Address, settings.Port);
            });

            // The host must not take over Ctrl+C / SIGTERM from the training process (ConsoleLifetime would).
            builder.Services.Replace(ServiceDescriptor.Singleton<IHostLifetime, PassiveHostLifetime>());
            builder.Services.Replace(ServiceDescriptor.Singleton(loggerFactory));
            builder.Services.AddRoutingCore();

            app = builder.Build();
            app.Use(WithoutCreatedLinesAsync);
            app.MapPrometheusScrapingEndpoint(settings.Path, meterProvider, configureBranchedPipeline: null, optionsName: null)
                .WithMetadata(new HttpMethodMetadata([HttpMethods.Get, HttpMethods.Head]));
            await app.StartAsync(cancellationToken).ConfigureAwait(false);

            var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
            var server = new PrometheusMetricsServer(app, meterProvider, logger, events, new Uri(new Uri(address), settings.Path), serviceName, runId);
            Log.ServerStarted(logger, server.Uri);
            return server;
        }
        catch
        {
            if (app is not null)
            {
                await app.DisposeAsync().ConfigureAwait(false);
            }

            meterProvider.Dispose();
            events?.Dispose();
            throw;
        }
    }

    /// <summary>A scrape of a process with two pipelines is about 130 KB of OpenMetrics.</summary>
    private const int InitialScrapeBuffer = 256 * 1024;

    private const string RunIdentityServiceName = "service.name";
    private const string RunIdentityInstanceId = "service.instance.id";

    /// <summary>Serves the exporter's answer without OpenMetrics' <c>_created</c> lines (see <see cref="CreatedLineFilter"/>).</summary>
    private static async Task WithoutCreatedLinesAsync(HttpContext context, RequestDelegate next)
    {
        // Only an OpenMetrics answer has them: a scrape that does not ask for it goes straight through.
        if (!context.Request.Headers.Accept.ToString().Contains("openmetrics", StringComparison.OrdinalIgnoreCase))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var original = context.Response.Body;
        using var buffer = new PooledBuffer(InitialScrapeBuffer);
        context.Response.Body = buffer;
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            context.Response.Body = original;
        }

        if (!CreatedLineFilter.Applies(context.Response.ContentType))
        {
            await original.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        // The exporter gzips its answer when the scraper accepts it (Prometheus does): filter the text inside.
        var gzipped = string.Equals(context.Response.Headers.ContentEncoding, "gzip", StringComparison.OrdinalIgnoreCase);
        using var unzipped = gzipped ? Gzip.Decompress(buffer.WrittenMemory) : null;
        var text = unzipped ?? buffer;
        text.Truncate(CreatedLineFilter.FilterInPlace(text.Written));
        using var zipped = gzipped ? Gzip.Compress(text.Written) : null;
        var body = (zipped ?? text).WrittenMemory;
        context.Response.ContentLength = body.Length;
        await original.WriteAsync(body, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Stops the endpoint and the metric collection. Idempotent; never throws.</summary>
    /// <returns>A task that completes when the server has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(StopTimeout);
            await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.StopFailed(_logger, ex);
        }

        try
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.StopFailed(_logger, ex);
        }

        try
        {
            _meterProvider.Dispose();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.StopFailed(_logger, ex);
        }

        _events?.Dispose();
    }

    /// <summary>Stops the endpoint; delegates to <see cref="DisposeAsync"/>.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <inheritdoc/>
    public override string ToString() => Uri.ToString();
}
