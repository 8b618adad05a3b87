using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace StreamingLoader.Benchmarks;

/// <summary>Adds an "Op/s" column: operations per second from the mean (an operation is what the benchmark's name says).</summary>
public sealed class ThroughputConfig : ManualConfig
{
    public ThroughputConfig() => AddColumn(new ThroughputColumn());
}

internal sealed class ThroughputColumn : IColumn
{
    public string Id => nameof(ThroughputColumn);

    public string ColumnName => "Op/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Operations per second (1 s / Mean); with OperationsPerInvoke an operation is one item";

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var nanoseconds = summary[benchmarkCase]?.ResultStatistics?.Mean;
        if (nanoseconds is not > 0)
        {
            return "NA";
        }

        var perSecond = 1e9 / nanoseconds.Value;
        return perSecond switch
        {
            >= 1e9 => $"{perSecond / 1e9:N2} G",
            >= 1e6 => $"{perSecond / 1e6:N2} M",
            >= 1e3 => $"{perSecond / 1e3:N2} k",
            _ => $"{perSecond:N2}",
        };
    }

    public override string ToString() => ColumnName;
}
