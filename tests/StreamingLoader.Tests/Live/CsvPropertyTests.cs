using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using StreamingLoader.Sources;
using StreamingLoader.Batching;

namespace StreamingLoader.Tests.Live;

/// <summary>
/// Random bytes and random mutations of valid CSV files, tailed to their end: every complete line is delivered or
/// becomes a dead letter naming its file and line, the statistics account for each, nothing else is thrown and
/// nothing hangs.
/// </summary>
public sealed class CsvPropertyTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly TailOptions ToEnd = new() { PollInterval = TimeSpan.FromMilliseconds(2), IdleTimeout = TimeSpan.FromMilliseconds(30) };
    private readonly string _directory = Directory.CreateTempSubdirectory("csv-props").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void MutatedValidFile_EveryLineDeliveredOrDeadLetteredWithItsLine()
    {
        var valid =
            from lines in Gen.Choose(0, 25)
            from seed in Gen.Choose(0, int.MaxValue)
            select ValidRows(lines, seed);
        Prop.ForAll(Mutations.Of(valid).ToArbitrary(), AccountsForEveryLine).Check(Config.QuickThrowOnFailure.WithMaxTest(100));
    }

    [Fact]
    public void RandomBytes_EveryLineDeliveredOrDeadLetteredWithItsLine() =>
        Prop.ForAll(Mutations.RandomBytes(4000).ToArbitrary(), AccountsForEveryLine).Check(Config.QuickThrowOnFailure.WithMaxTest(100));

    private bool AccountsForEveryLine(byte[] bytes)
    {
        var path = Path.Combine(_directory, $"{Guid.NewGuid():N}.csv");
        File.WriteAllBytes(path, bytes);
        try
        {
            var run = Task.Run(() => ReadSkippingAsync(path));
            if (!run.Wait(Bound))
            {
                throw new TimeoutException($"reading {bytes.Length} bytes took more than {Bound}: {Convert.ToBase64String(bytes)}");
            }

            var (delivered, dead, statistics) = run.Result;
            var lastLine = bytes.AsSpan().Count((byte)'\n');
            foreach (var letter in dead)
            {
                var line = JsonLinesPropertyTests.LineOf(letter.Reason, path);
                if (letter.Error is not InvalidDataException || letter.Stage != PipelineStage.Collate || line < 1 || line > lastLine)
                {
                    throw new InvalidOperationException($"unexpected dead letter: {letter}");
                }
            }

            // The tail yields each non-empty line ended by a line break; a last line without one waits for it.
            var expected = CompleteLines(bytes);
            var indices = delivered.Concat(dead.Select(d => d.SampleIndex)).Order();
            var accounted = statistics is { } s && s.Read == expected && s.Delivered == delivered.Count && s.Skipped == dead.Count && s.InFlight == 0;
            return indices.SequenceEqual(Enumerable.Range(0, expected).Select(i => (long)i)) && (expected == 0 || accounted)
                ? true
                : throw new InvalidOperationException($"expected {expected} lines; delivered {delivered.Count}, dead {dead.Count}, {statistics}: {Convert.ToBase64String(bytes)}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task<(List<long> Delivered, List<DeadLetter> Dead, EpochStatistics? Statistics)> ReadSkippingAsync(string path)
    {
        var options = new LoaderOptions { BatchSize = 4, Workers = 2, ErrorPolicy = ErrorPolicy.Skip };
        await using var loader = Pipeline.From(new FileTail(path, ToEnd)).Build(Collate.Csv([0, 1], 2), options);
        var delivered = new List<long>();
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                delivered.AddRange(batch.SampleIndices.ToArray());
            }
        }

        return (delivered, [.. loader.DeadLetters], loader.Statistics.Count > 0 ? loader.Statistics[0] : null);
    }

    private static int CompleteLines(byte[] bytes)
    {
        var count = 0;
        var start = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == '\n')
            {
                var length = i - start - (i > start && bytes[i - 1] == '\r' ? 1 : 0);
                count += length > 0 ? 1 : 0;
                start = i + 1;
            }
        }

        return count;
    }

    private static byte[] ValidRows(int lines, int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        for (var i = 0; i < lines; i++)
        {
            var quoted = random.Next(4) == 0;
            var a = ((random.NextDouble() - 0.5) * 100).ToString("R", CultureInfo.InvariantCulture);
            var b = ((random.NextDouble() - 0.5) * 1e6).ToString("E3", CultureInfo.InvariantCulture);
            text.Append(CultureInfo.InvariantCulture, $"{(quoted ? $"\"{a}\"" : a)},{b},{random.Next(10)}");
            text.Append(random.Next(3) == 0 ? "\r\n" : "\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
