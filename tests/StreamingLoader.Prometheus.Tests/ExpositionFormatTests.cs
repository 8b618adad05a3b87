using StreamingLoader.Prometheus.Exposition;

namespace StreamingLoader.Prometheus.Tests;

public sealed class ExpositionFormatTests
{
    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("*/*", false)]
    [InlineData("text/plain", false)]
    [InlineData("text/plain;version=0.0.4", false)]
    [InlineData("application/openmetrics-text", true)]
    [InlineData("application/openmetrics-text; version=1.0.0; charset=utf-8", true)]
    [InlineData("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", true)]
    [InlineData("application/openmetrics-text;version=0.0.1", false)]
    [InlineData("application/openmetrics-text;q=0", false)]
    [InlineData("application/openmetrics-text;q=0.5, text/plain", false)]
    [InlineData("text/plain;q=0.5, APPLICATION/OPENMETRICS-TEXT", true)]
    [InlineData("application/json", false)]
    public void Negotiate_AcceptHeader_ChoosesFormat(string? accept, bool openMetrics) =>
        Assert.Equal(openMetrics ? ExpositionFormat.OpenMetrics : ExpositionFormat.PrometheusText, ExpositionFormats.Negotiate([accept]));

    [Fact]
    public void ContentType_EachFormat_VersionedMediaType()
    {
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", ExpositionFormats.ContentType(ExpositionFormat.PrometheusText));
        Assert.Equal("application/openmetrics-text; version=1.0.0; charset=utf-8", ExpositionFormats.ContentType(ExpositionFormat.OpenMetrics));
    }
}
