using StreamingLoader.Prometheus.Exposition;

namespace StreamingLoader.Prometheus.Tests;

public sealed class PrometheusNamingTests
{
    [Theory]
    [InlineData("streamingloader.stage.items_in", "{sample}", false, "streamingloader_stage_items_in")]
    [InlineData("streamingloader.stage.blocked", "s", false, "streamingloader_stage_blocked_seconds")]
    [InlineData("streamingloader.stage.duration", "s", false, "streamingloader_stage_duration_seconds")]
    [InlineData("streamingloader.bytes", "By", false, "streamingloader_bytes")]
    [InlineData("streamingloader.stage.queue_depth", "{message}", true, "streamingloader_stage_queue_depth")]
    [InlineData("dotnet.process.cpu.time", "s", false, "dotnet_process_cpu_time_seconds")]
    [InlineData("dotnet.gc.heap.total_allocated", "By", false, "dotnet_gc_heap_total_allocated_bytes")]
    [InlineData("request.duration", "ms", false, "request_duration_milliseconds")]
    [InlineData("request.duration_seconds", "s", false, "request_duration_seconds")]
    [InlineData("transfer.rate", "By/s", true, "transfer_rate_bytes_per_second")]
    [InlineData("events.rate", "{event}/s", true, "events_rate_per_second")]
    [InlineData("cpu.utilization", "1", true, "cpu_utilization_ratio")]
    [InlineData("cpu.ticks", "1", false, "cpu_ticks")]
    [InlineData("temperature", "Cel", true, "temperature_celsius")]
    [InlineData("memory", "MiBy", true, "memory_mebibytes")]
    [InlineData("weird", "foo.bar", true, "weird_foo_bar")]
    [InlineData("2xx.responses", null, false, "_2xx_responses")]
    [InlineData("a..b--c", "", false, "a_b_c")]
    [InlineData("ns:metric", null, false, "ns:metric")]
    public void BaseName_OpenTelemetryNameAndUnit_PrometheusName(string name, string? unit, bool isGauge, string expected) =>
        Assert.Equal(expected, PrometheusNaming.BaseName(name, unit, isGauge));

    [Theory]
    [InlineData("pipeline", "pipeline")]
    [InlineData("gc.heap.generation", "gc_heap_generation")]
    [InlineData("http-route", "http_route")]
    [InlineData("0zone", "key_0zone")]
    [InlineData("__reserved", "key__reserved")]
    [InlineData("_private", "_private")]
    [InlineData("ns:label", "ns_label")]
    public void SanitizeLabelName_AnyKey_ValidLabelName(string key, string expected) =>
        Assert.Equal(expected, PrometheusNaming.SanitizeLabelName(key));
}
