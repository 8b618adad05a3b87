using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using StreamingLoader.Prometheus.Tests.Infrastructure;

namespace StreamingLoader.Prometheus.Tests;

/// <summary>Pins the exact exposition text the real OpenTelemetry SDK plus our serializer produce.</summary>
public sealed class ExpositionTextTests
{
    private static readonly KeyValuePair<string, object?> Train = new("pipeline", "train");
    private static readonly KeyValuePair<string, object?> Eval = new("pipeline", "eval");

    [Fact]
    public void Text_LongCounterWithAnnotationUnit_AddsTotalAndDropsAnnotation()
    {
        using var collector = new TestCollector();
        var samples = collector.Meter.CreateCounter<long>("streamingloader.samples", "{sample}", "Samples delivered to the consumer.");
        samples.Add(5, Train);
        samples.Add(2, Train);
        samples.Add(3, Eval);

        Assert.Equal(
            """
            # HELP streamingloader_samples_total Samples delivered to the consumer.
            # TYPE streamingloader_samples_total counter
            streamingloader_samples_total{pipeline="train"} 7
            streamingloader_samples_total{pipeline="eval"} 3

            """,
            collector.Text());
    }

    [Fact]
    public void Text_DoubleCounterInSeconds_AddsSecondsThenTotal()
    {
        using var collector = new TestCollector();
        var wait = collector.Meter.CreateCounter<double>("streamingloader.consumer.wait", "s", "Time the consumer waited for its next batch (starvation).");
        wait.Add(0.25, Train);
        wait.Add(0.5, Train);

        Assert.Equal(
            """
            # HELP streamingloader_consumer_wait_seconds_total Time the consumer waited for its next batch (starvation).
            # TYPE streamingloader_consumer_wait_seconds_total counter
            streamingloader_consumer_wait_seconds_total{pipeline="train"} 0.75

            """,
            collector.Text());
    }

    [Fact]
    public void Text_CounterInBytesWhoseNameEndsInBytes_DoesNotRepeatTheUnit()
    {
        using var collector = new TestCollector();
        collector.Meter.CreateCounter<long>("streamingloader.bytes", "By", "Bytes of batch data delivered to the consumer.").Add(4096, Train);

        Assert.Equal(
            """
            # HELP streamingloader_bytes_total Bytes of batch data delivered to the consumer.
            # TYPE streamingloader_bytes_total counter
            streamingloader_bytes_total{pipeline="train"} 4096

            """,
            collector.Text());
    }

    [Fact]
    public void Text_CounterWhoseNameEndsInTotal_DoesNotRepeatTotal()
    {
        using var collector = new TestCollector();
        collector.Meter.CreateCounter<long>("jobs.total").Add(1);

        Assert.Equal(
            """
            # TYPE jobs_total counter
            jobs_total 1

            """,
            collector.Text());
    }

    [Fact]
    public void Text_UpDownCounter_IsAGaugeWithoutTotal()
    {
        using var collector = new TestCollector();
        var leases = collector.Meter.CreateUpDownCounter<long>("streamingloader.pool.leases", "{batch}", "Batch buffers leased and not yet returned.");
        leases.Add(3, Train);
        leases.Add(-1, Train);

        Assert.Equal(
            """
            # HELP streamingloader_pool_leases Batch buffers leased and not yet returned.
            # TYPE streamingloader_pool_leases gauge
            streamingloader_pool_leases{pipeline="train"} 2

            """,
            collector.Text());
    }

    [Fact]
    public void Text_ObservableUpDownCounterInBytes_IsAGaugeWithBytesSuffix()
    {
        using var collector = new TestCollector();
        collector.Meter.CreateObservableUpDownCounter("process.memory.working_set", () => 1_048_576L, "By", "Working set.");

        Assert.Equal(
            """
            # HELP process_memory_working_set_bytes Working set.
            # TYPE process_memory_working_set_bytes gauge
            process_memory_working_set_bytes 1048576

            """,
            collector.Text());
    }

    [Fact]
    public void Text_ObservableGaugePerStage_OneSeriesPerStage()
    {
        using var collector = new TestCollector();
        collector.Meter.CreateObservableGauge(
            "streamingloader.stage.queue_depth",
            () => new[]
            {
                new Measurement<int>(4, new KeyValuePair<string, object?>("pipeline", "train"), new KeyValuePair<string, object?>("stage", "read")),
                new Measurement<int>(0, new KeyValuePair<string, object?>("pipeline", "train"), new KeyValuePair<string, object?>("stage", "collate")),
            },
            "{message}",
            "Messages waiting at a stage's input.");

        Assert.Equal(
            """
            # HELP streamingloader_stage_queue_depth Messages waiting at a stage's input.
            # TYPE streamingloader_stage_queue_depth gauge
            streamingloader_stage_queue_depth{pipeline="train",stage="read"} 4
            streamingloader_stage_queue_depth{pipeline="train",stage="collate"} 0

            """,
            collector.Text());
    }

    [Fact]
    public void Text_DoubleGaugeWithUnitOne_GetsRatioSuffix()
    {
        using var collector = new TestCollector();
        collector.Meter.CreateGauge<double>("gpu.utilization", "1", "Share of time the GPU was busy.").Record(0.875);

        Assert.Equal(
            """
            # HELP gpu_utilization_ratio Share of time the GPU was busy.
            # TYPE gpu_utilization_ratio gauge
            gpu_utilization_ratio 0.875

            """,
            collector.Text());
    }

    [Fact]
    public void Text_CounterWithUnitOne_GetsNoRatioSuffix()
    {
        using var collector = new TestCollector();
        collector.Meter.CreateCounter<long>("retries", "1").Add(2);

        Assert.Equal(
            """
            # TYPE retries_total counter
            retries_total 2

            """,
            collector.Text());
    }

    [Fact]
    public void Text_GaugeSpecialValues_NaNAndInfinities()
    {
        using var collector = new TestCollector();
        var gauge = collector.Meter.CreateGauge<double>("probe");
        gauge.Record(double.NaN, new KeyValuePair<string, object?>("case", "nan"));
        gauge.Record(double.PositiveInfinity, new KeyValuePair<string, object?>("case", "pos"));
        gauge.Record(double.NegativeInfinity, new KeyValuePair<string, object?>("case", "neg"));
        gauge.Record(1e-7, new KeyValuePair<string, object?>("case", "small"));
        gauge.Record(1.5e22, new KeyValuePair<string, object?>("case", "large"));

        Assert.Equal(
            """
            # TYPE probe gauge
            probe{case="nan"} NaN
            probe{case="pos"} +Inf
            probe{case="neg"} -Inf
            probe{case="small"} 1e-07
            probe{case="large"} 1.5e+22

            """,
            collector.Text());
    }

    [Fact]
    public void Text_Histogram_CumulativeBucketsInfSumAndCount()
    {
        using var collector = new TestCollector();
        var duration = collector.Meter.CreateHistogram(
            "streamingloader.stage.duration",
            "s",
            "Time a stage took for one message (a chunk of samples).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.125, 1, 8] });
        var read = new TagList { { "pipeline", "train" }, { "stage", "read" } };
        duration.Record(0.0625, read);
        duration.Record(0.5, read);
        duration.Record(4, read);
        duration.Record(64, read);

        Assert.Equal(
            """
            # HELP streamingloader_stage_duration_seconds Time a stage took for one message (a chunk of samples).
            # TYPE streamingloader_stage_duration_seconds histogram
            streamingloader_stage_duration_seconds_bucket{pipeline="train",stage="read",le="0.125"} 1
            streamingloader_stage_duration_seconds_bucket{pipeline="train",stage="read",le="1"} 2
            streamingloader_stage_duration_seconds_bucket{pipeline="train",stage="read",le="8"} 3
            streamingloader_stage_duration_seconds_bucket{pipeline="train",stage="read",le="+Inf"} 4
            streamingloader_stage_duration_seconds_sum{pipeline="train",stage="read"} 68.5625
            streamingloader_stage_duration_seconds_count{pipeline="train",stage="read"} 4

            """,
            collector.Text());
    }

    [Fact]
    public void Text_HistogramWithoutTagsAndTinyBounds_LeIsTheOnlyLabel()
    {
        using var collector = new TestCollector();
        var latency = collector.Meter.CreateHistogram(
            "latency",
            "ms",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.00001, 0.5] });
        latency.Record(0);
        latency.Record(0.25);
        latency.Record(0.25);

        Assert.Equal(
            """
            # TYPE latency_milliseconds histogram
            latency_milliseconds_bucket{le="1e-05"} 1
            latency_milliseconds_bucket{le="0.5"} 3
            latency_milliseconds_bucket{le="+Inf"} 3
            latency_milliseconds_sum 0.5
            latency_milliseconds_count 3

            """,
            collector.Text());
    }

    [Fact]
    public void Text_LabelValueWithBackslashQuoteAndNewline_IsEscaped()
    {
        using var collector = new TestCollector();
        collector.Meter.CreateCounter<long>("escapes").Add(1, new KeyValuePair<string, object?>("path", "C:\\data\\\"train\"\nnext"));

        Assert.Equal(
            """
            # TYPE escapes_total counter
            escapes_total{path="C:\\data\\\"train\"\nnext"} 1

            """,
            collector.Text());
    }

    [Fact]
    public void Text_HelpWithBackslashAndNewline_EscapesThemButNotQuotes()
    {
        using var collector = new TestCollector();
        collector.Meter.CreateCounter<long>("help.text", null, "Line one\nsays \"hi\" to C:\\temp").Add(1);

        Assert.Equal(
            """
            # HELP help_text_total Line one\nsays "hi" to C:\\temp
            # TYPE help_text_total counter
            help_text_total 1

            """,
            collector.Text());
    }

    [Fact]
    public void Text_DottedAndInvalidNames_AreSanitized()
    {
        using var collector = new TestCollector();
        collector.Meter.CreateCounter<long>("http.server-requests/total.count", "{request}").Add(1, new KeyValuePair<string, object?>("http.route", "/a"), new KeyValuePair<string, object?>("0zone", "x"));

        Assert.Equal(
            """
            # TYPE http_server_requests_total_count_total counter
            http_server_requests_total_count_total{key_0zone="x",http_route="/a"} 1

            """,
            collector.Text());
    }

    [Fact]
    public void Text_NonStringTagValues_UseInvariantCulture()
    {
        using var collector = new TestCollector();
        collector.Meter.CreateCounter<long>("typed").Add(
            1,
            new KeyValuePair<string, object?>("a_rank", 3),
            new KeyValuePair<string, object?>("b_ratio", 0.5),
            new KeyValuePair<string, object?>("c_flag", true));

        Assert.Equal(
            """
            # TYPE typed_total counter
            typed_total{a_rank="3",b_ratio="0.5",c_flag="true"} 1

            """,
            collector.Text());
    }

    [Fact]
    public void Text_TagKeysThatSanitizeToOneLabel_JoinValuesInKeyOrder()
    {
        using var collector = new TestCollector();
        collector.Meter.CreateCounter<long>("collide").Add(1, new KeyValuePair<string, object?>("a.b", "dot"), new KeyValuePair<string, object?>("a_b", "underscore"));

        Assert.Equal(
            """
            # TYPE collide_total counter
            collide_total{a_b="dot;underscore"} 1

            """,
            collector.Text());
    }

    [Fact]
    public void Text_InstrumentWithoutMeasurements_EmitsNothing()
    {
        using var collector = new TestCollector();
        collector.Meter.CreateCounter<long>("never.used");

        Assert.Equal(string.Empty, collector.Text());
    }

    [Fact]
    public void Text_InstrumentsInCreationOrder_OneFamilyEach()
    {
        using var collector = new TestCollector();
        collector.Meter.CreateCounter<long>("streamingloader.batches", "{batch}", "Batches delivered to the consumer.").Add(2, Train);
        collector.Meter.CreateCounter<long>("streamingloader.errors", "{error}", "Samples that failed, by stage and error policy.")
            .Add(1, new TagList { { "pipeline", "train" }, { "policy", "skip" }, { "stage", "transform" } });

        Assert.Equal(
            """
            # HELP streamingloader_batches_total Batches delivered to the consumer.
            # TYPE streamingloader_batches_total counter
            streamingloader_batches_total{pipeline="train"} 2
            # HELP streamingloader_errors_total Samples that failed, by stage and error policy.
            # TYPE streamingloader_errors_total counter
            streamingloader_errors_total{pipeline="train",policy="skip",stage="transform"} 1

            """,
            collector.Text());
    }

    [Fact]
    public void Text_SameNameOnTwoMeters_OneFamilyWithBothSeries()
    {
        using var other = new Meter("test.other." + Guid.NewGuid().ToString("N"));
        using var collector = new TestCollector(null, other.Name);
        collector.Meter.CreateCounter<long>("shared", null, "Shared.").Add(1, new KeyValuePair<string, object?>("from", "one"));
        other.CreateCounter<long>("shared", null, "Shared.").Add(2, new KeyValuePair<string, object?>("from", "two"));

        Assert.Equal(
            """
            # HELP shared_total Shared.
            # TYPE shared_total counter
            shared_total{from="one"} 1
            shared_total{from="two"} 2

            """,
            collector.Text());
    }

    [Fact]
    public void Text_CumulativeAcrossScrapes_CountersKeepGrowing()
    {
        using var collector = new TestCollector();
        var counter = collector.Meter.CreateCounter<long>("ticks");
        counter.Add(1);
        Assert.Contains("ticks_total 1\n", collector.Text(), StringComparison.Ordinal);
        counter.Add(4);
        Assert.Contains("ticks_total 5\n", collector.Text(), StringComparison.Ordinal);
        Assert.Contains("ticks_total 5\n", collector.Text(), StringComparison.Ordinal);
    }

    [Fact]
    public void Text_TagValueWhoseToStringThrows_LeavesOutThatMetricLogsAndServesTheRest()
    {
        using var logs = new ListLoggerProvider();
        using var factory = LoggerFactory.Create(builder => builder.AddProvider(logs));
        using var collector = new TestCollector(factory.CreateLogger("test"));
        collector.Meter.CreateCounter<long>("broken").Add(1, new KeyValuePair<string, object?>("value", new ThrowingValue()));
        collector.Meter.CreateCounter<long>("healthy").Add(1);

        var text = collector.Text();
        var again = collector.Text();

        Assert.Equal(
            """
            # TYPE healthy_total counter
            healthy_total 1

            """,
            text);
        Assert.Equal(text, again);
        var entry = Assert.Single(logs.Entries);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.Contains("broken", entry.Message, StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(entry.Exception);
    }

    [Fact]
    public void OpenMetrics_Counter_FamilyWithoutTotalUnitLineAndEof()
    {
        using var collector = new TestCollector();
        collector.Meter.CreateCounter<double>("streamingloader.consumer.wait", "s", "Time the consumer waited for its next batch (starvation).").Add(0.75, Train);
        collector.Meter.CreateCounter<long>("streamingloader.samples", "{sample}", "Samples delivered to the consumer.").Add(7, Train);

        Assert.Equal(
            """
            # HELP streamingloader_consumer_wait_seconds Time the consumer waited for its next batch (starvation).
            # TYPE streamingloader_consumer_wait_seconds counter
            # UNIT streamingloader_consumer_wait_seconds seconds
            streamingloader_consumer_wait_seconds_total{pipeline="train"} 0.75
            # HELP streamingloader_samples Samples delivered to the consumer.
            # TYPE streamingloader_samples counter
            streamingloader_samples_total{pipeline="train"} 7
            # EOF

            """,
            collector.OpenMetrics());
    }

    [Fact]
    public void OpenMetrics_HistogramAndGauge_UnitLinesAndEof()
    {
        using var collector = new TestCollector();
        var duration = collector.Meter.CreateHistogram(
            "streamingloader.stage.duration",
            "s",
            "Stage time.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.5] });
        duration.Record(0.25, new KeyValuePair<string, object?>("stage", "read"));
        collector.Meter.CreateUpDownCounter<long>("heap", "By", "Heap size.").Add(64);

        Assert.Equal(
            """
            # HELP streamingloader_stage_duration_seconds Stage time.
            # TYPE streamingloader_stage_duration_seconds histogram
            # UNIT streamingloader_stage_duration_seconds seconds
            streamingloader_stage_duration_seconds_bucket{stage="read",le="0.5"} 1
            streamingloader_stage_duration_seconds_bucket{stage="read",le="+Inf"} 1
            streamingloader_stage_duration_seconds_sum{stage="read"} 0.25
            streamingloader_stage_duration_seconds_count{stage="read"} 1
            # HELP heap_bytes Heap size.
            # TYPE heap_bytes gauge
            # UNIT heap_bytes bytes
            heap_bytes 64
            # EOF

            """,
            collector.OpenMetrics());
    }

    [Fact]
    public void OpenMetrics_HelpWithQuotes_EscapesQuotes()
    {
        using var collector = new TestCollector();
        collector.Meter.CreateCounter<long>("quoted", null, "Says \"hi\"\\n").Add(1);

        Assert.Equal(
            """
            # HELP quoted Says \"hi\"\\n
            # TYPE quoted counter
            quoted_total 1
            # EOF

            """,
            collector.OpenMetrics());
    }

    [Fact]
    public void OpenMetrics_NothingRecorded_IsJustEof()
    {
        using var collector = new TestCollector();

        Assert.Equal("# EOF\n", collector.OpenMetrics());
    }

    private sealed class ThrowingValue
    {
        public override string ToString() => throw new InvalidOperationException("This tag value cannot be rendered.");
    }
}
