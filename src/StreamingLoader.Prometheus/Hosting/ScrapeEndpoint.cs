using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using StreamingLoader.Prometheus.Exposition;

namespace StreamingLoader.Prometheus.Hosting;

/// <summary>The request handler: <c>GET</c>/<c>HEAD</c> on the metrics path scrapes; anything else is 404 or 405.</summary>
internal sealed class ScrapeEndpoint
{
    private readonly MetricsCollector _collector;
    private readonly ILogger _logger;
    private readonly string _path;

    public ScrapeEndpoint(MetricsCollector collector, ILogger logger, string path)
    {
        _collector = collector;
        _logger = logger;
        _path = path;
    }

    public async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        if (!string.Equals(request.Path.Value, _path, StringComparison.Ordinal))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        var isHead = HttpMethods.IsHead(request.Method);
        if (!isHead && !HttpMethods.IsGet(request.Method))
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = "GET, HEAD";
            return;
        }

        ScrapeResult result;
        try
        {
            var format = ExpositionFormats.Negotiate(request.Headers.Accept);
            result = _collector.Scrape(format);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.ScrapeFailed(_logger, ex);
            response.StatusCode = StatusCodes.Status500InternalServerError;
            return;
        }

        using (result)
        {
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = result.ContentType;
            response.ContentLength = result.Length;
            response.Headers.CacheControl = "no-store";
            if (isHead)
            {
                return;
            }

            try
            {
                await response.Body.WriteAsync(result.Memory, context.RequestAborted).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException)
            {
                Log.ResponseAborted(_logger, ex);
            }
        }
    }
}
