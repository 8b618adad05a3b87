using System.Globalization;

namespace StreamingLoader.Prometheus.Exposition;

/// <summary>The two wire formats a scrape may ask for.</summary>
internal enum ExpositionFormat
{
    /// <summary>Prometheus text exposition format 0.0.4.</summary>
    PrometheusText,

    /// <summary>OpenMetrics 1.0 text.</summary>
    OpenMetrics,
}

/// <summary>Content types and <c>Accept</c> header negotiation.</summary>
internal static class ExpositionFormats
{
    public const string PrometheusTextContentType = "text/plain; version=0.0.4; charset=utf-8";

    public const string OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    public static string ContentType(ExpositionFormat format) =>
        format == ExpositionFormat.OpenMetrics ? OpenMetricsContentType : PrometheusTextContentType;

    /// <summary>
    /// Picks OpenMetrics when the <c>Accept</c> header names <c>application/openmetrics-text</c> (version 1.0.0 or no
    /// version) with a quality at least that of the plain-text alternatives; the Prometheus text format otherwise.
    /// </summary>
    /// <param name="accept">The <c>Accept</c> header values, possibly several, each possibly comma-separated.</param>
    public static ExpositionFormat Negotiate(IEnumerable<string?> accept)
    {
        var openMetrics = -1d;
        var text = -1d;
        foreach (var header in accept)
        {
            if (string.IsNullOrEmpty(header))
            {
                continue;
            }

            foreach (var range in header.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var parts = range.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (parts.Length == 0)
                {
                    continue;
                }

                var quality = 1d;
                string? version = null;
                foreach (var parameter in parts.AsSpan(1))
                {
                    var equals = parameter.IndexOf('=', StringComparison.Ordinal);
                    if (equals <= 0)
                    {
                        continue;
                    }

                    var key = parameter[..equals].Trim();
                    var value = parameter[(equals + 1)..].Trim().Trim('"');
                    if (key.Equals("q", StringComparison.OrdinalIgnoreCase))
                    {
                        quality = double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var q) ? Math.Clamp(q, 0, 1) : 0;
                    }
                    else if (key.Equals("version", StringComparison.OrdinalIgnoreCase))
                    {
                        version = value;
                    }
                }

                var mediaType = parts[0];
                if (mediaType.Equals("application/openmetrics-text", StringComparison.OrdinalIgnoreCase))
                {
                    if (version is null || version == "1.0.0")
                    {
                        openMetrics = Math.Max(openMetrics, quality);
                    }
                }
                else if (mediaType.Equals("text/plain", StringComparison.OrdinalIgnoreCase)
                    || mediaType.Equals("text/*", StringComparison.OrdinalIgnoreCase)
                    || mediaType.Equals("*/*", StringComparison.Ordinal))
                {
                    text = Math.Max(text, quality);
                }
            }
        }

        return openMetrics > 0 && openMetrics >= text ? ExpositionFormat.OpenMetrics : ExpositionFormat.PrometheusText;
    }
}
