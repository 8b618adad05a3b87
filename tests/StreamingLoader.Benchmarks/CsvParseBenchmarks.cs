using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using nietras.SeparatedValues;
using Sylvan.Data.Csv;
using StreamingLoader.Internal;

namespace StreamingLoader.Benchmarks;

/// <summary>
/// One thread parsing CSV rows of 32 floats and an integer label (the live_compare.sh data) into a float row and a
/// label: the CSV collator's row parser (after splitting lines as the tail does), Sep and Sylvan.Data.Csv, the
/// parsers the registry serves. Op/s is rows per second; the loader runs its parser on every worker.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(ThroughputConfig))]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class CsvParseBenchmarks
{
    private const int Rows = 20_000;
    private const int Features = 32;
    private readonly float[] _row = new float[Features];
    private byte[] _csv = [];
    private int[] _map = [];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(0);
        var text = new StringBuilder(string.Join(',', Enumerable.Range(0, Features).Select(i => $"f{i}")) + ",y\n");
        for (var r = 0; r < Rows; r++)
        {
            for (var f = 0; f < Features; f++)
            {
                text.Append(((random.NextDouble() * 2) - 1).ToString("R", CultureInfo.InvariantCulture)).Append(',');
            }

            text.Append(random.Next(10)).Append('\n');
        }

        _csv = Encoding.UTF8.GetBytes(text.ToString());
        _map = CsvRowParser.ColumnMap([.. Enumerable.Range(0, Features + 1)]);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Rows, Description = "StreamingLoader CSV row parser, per row")]
    public long StreamingLoaderRows()
    {
        var span = _csv.AsSpan();
        span = span[(span.IndexOf((byte)'\n') + 1)..];
        var parser = new CsvRowParser((byte)',', _map);
        long sum = 0;
        while (!span.IsEmpty)
        {
            var end = span.IndexOf((byte)'\n');
            parser.Parse(span[..end], _row, out var label);
            sum += label;
            span = span[(end + 1)..];
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Rows, Description = "Sep 0.17.1, per row")]
    public long SepRows()
    {
        using var reader = Sep.Reader(o => o with { HasHeader = true }).From(_csv);
        long sum = 0;
        foreach (var row in reader)
        {
            for (var f = 0; f < Features; f++)
            {
                _row[f] = row[f].Parse<float>();
            }

            sum += row[Features].Parse<long>();
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Rows, Description = "Sylvan.Data.Csv 1.4.4, per row")]
    public long SylvanRows()
    {
        using var reader = CsvDataReader.Create(new StreamReader(new MemoryStream(_csv)));
        long sum = 0;
        while (reader.Read())
        {
            for (var f = 0; f < Features; f++)
            {
                _row[f] = reader.GetFloat(f);
            }

            sum += reader.GetInt64(Features);
        }

        return sum;
    }
}
