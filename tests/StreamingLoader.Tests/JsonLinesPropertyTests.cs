using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using StreamingLoader.Batching;
using StreamingLoader.Sources;

namespace StreamingLoader.Tests;

/// <summary>
/// Random bytes and random mutations of valid JSON Lines files (bit flips, truncations, insertions, deletions): every
/// line is delivered or becomes a dead letter naming its file and line, nothing else is thrown, nothing hangs, and a
/// file without line breaks costs a few times the line limit (the doubling buffer), not its size. Alone in its
/// collection so allocation can be measured.
/// </summary>
[Collection(Name)]
public sealed class JsonLinesPropertyTests : IDisposable
{
    public const string Name = "JsonLines properties";
    private const int MaxLineLength = 512;
    private const int Features = 3;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly string _directory = Directory.CreateTempSubdirectory("jsonl-props").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void MutatedValidFile_EveryLineDeliveredOrDeadLetteredWithItsLine()
    {
        var files = Mutations.Of(ValidFile());
        Prop.ForAll(files.ToArbitrary(), AccountsForEveryLine).Check(Config.QuickThrowOnFailure.WithMaxTest(200));
    }

    [Fact]
    public void RandomBytes_EveryLineDeliveredOrDeadLetteredWithItsLine()
    {
        var files = Mutations.RandomBytes(4000);
        Prop.ForAll(files.ToArbitrary(), AccountsForEveryLine).Check(Config.QuickThrowOnFailure.WithMaxTest(200));
    }

    [Fact]
    public async Task Read_FileWithoutLineBreaks_AllocatesAFewTimesTheLimitNotTheFileSize()
    {
        var path = Path.Combine(_directory, "one-line.jsonl");
        var garbage = new byte[48 << 20];
        new Random(1).NextBytes(garbage);
        garbage.AsSpan().Replace((byte)'\n', (byte)' ');
        await File.WriteAllBytesAsync(path, garbage);
        garbage = null;

        var before = GC.GetTotalAllocatedBytes(precise: true);
        var lines = new List<TextLine>();
        await foreach (var line in JsonLines.Read(path, maxLineLength: 1 << 20))
        {
            lines.Add(line);
        }

        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        var only = Assert.Single(lines);
        Assert.True(only.ExceedsMaxLength);
        Assert.True(allocated < 8 << 20, $"reading a 48 MiB line with a 1 MiB limit allocated {allocated} bytes");
    }

    private bool AccountsForEveryLine(byte[] bytes)
    {
        var path = Path.Combine(_directory, $"{Guid.NewGuid():N}.jsonl");
        File.WriteAllBytes(path, bytes);
        try
        {
            var run = Task.Run(() => ReadSkippingAsync(path));
            if (!run.Wait(Bound))
            {
                throw new TimeoutException($"reading {bytes.Length} bytes took more than {Bound}: {Convert.ToBase64String(bytes)}");
            }

            var (delivered, dead) = run.Result;
            var expected = CountLines(bytes);
            var lastLine = bytes.AsSpan().Count((byte)'\n') + 1;
            var indices = delivered.Concat(dead.Select(d => d.SampleIndex)).Order().ToList();
            foreach (var letter in dead)
            {
                var line = LineOf(letter.Reason, path);
                if (letter.Error is not InvalidDataException || letter.Stage != PipelineStage.Collate || line < 1 || line > lastLine)
                {
                    throw new InvalidOperationException($"unexpected dead letter: {letter}");
                }
            }

            return indices.SequenceEqual(Enumerable.Range(0, expected).Select(i => (long)i))
                ? true
                : throw new InvalidOperationException($"expected {expected} lines; delivered {delivered.Count}, dead {dead.Count}: {Convert.ToBase64String(bytes)}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task<(List<long> Delivered, List<DeadLetter> Dead)> ReadSkippingAsync(string path)
    {
        var options = new LoaderOptions { BatchSize = 4, Workers = 2, ErrorPolicy = ErrorPolicy.Skip };
        await using var loader = Pipeline.From(JsonLines.Read(path, MaxLineLength)).Build(Collate.Json("x", Features, "y"), options);
        var delivered = new List<long>();
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                delivered.AddRange(batch.SampleIndices.ToArray());
            }
        }

        return (delivered, loader.DeadLetters.Where(d => d.Epoch == 0).ToList());
    }

    /// <summary>The file's line number in a reason like "path:12: column 3: …".</summary>
    internal static long LineOf(string reason, string path)
    {
        if (!reason.StartsWith(path + ":", StringComparison.Ordinal))
        {
            return -1;
        }

        var rest = reason[(path.Length + 1)..];
        var colon = rest.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && long.TryParse(rest[..colon], CultureInfo.InvariantCulture, out var line) ? line : -1;
    }

    /// <summary>Non-empty lines as the format defines them: split at \n, one trailing \r dropped, a leading BOM skipped.</summary>
    private static int CountLines(byte[] bytes)
    {
        var text = bytes.AsSpan();
        if (text.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            text = text[3..];
        }

        var count = 0;
        foreach (var range in text.Split((byte)'\n'))
        {
            var line = text[range];
            count += line.Length > (line.EndsWith((byte)'\r') ? 1 : 0) ? 1 : 0;
        }

        return count;
    }

    private static Gen<byte[]> ValidFile() =>
        from lines in Gen.Choose(0, 25)
        from seed in Gen.Choose(0, int.MaxValue)
        select ValidLines(lines, seed);

    private static byte[] ValidLines(int lines, int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        string[] formats = ["R", "E3", "F25", "G5"];
        for (var i = 0; i < lines; i++)
        {
            var x = Enumerable.Range(0, Features).Select(_ => ((random.NextDouble() - 0.5) * 100).ToString(formats[random.Next(formats.Length)], CultureInfo.InvariantCulture));
            text.Append(CultureInfo.InvariantCulture, $"{{\"id\":\"s\\u0031{i}\",\"x\":[{string.Join(",", x)}],\"y\":{random.NextInt64(long.MinValue, long.MaxValue)}}}");
            text.Append(random.Next(3) == 0 ? "\r\n" : "\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }
}

[CollectionDefinition(JsonLinesPropertyTests.Name, DisableParallelization = true)]
#pragma warning disable CA1711, SA1402 // xunit's collection definition lives with the only class in it.
public sealed class JsonLinesPropertyCollection;
#pragma warning restore CA1711, SA1402
