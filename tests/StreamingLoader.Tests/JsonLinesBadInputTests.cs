using System.Globalization;
using System.Numerics;
using System.Text;
using StreamingLoader.Sources;
using StreamingLoader.Batching;

namespace StreamingLoader.Tests;

/// <summary>Hostile and unusual JSON Lines input: each case either parses exactly or fails saying what and where.</summary>
public sealed partial class JsonLinesTests
{
    private static readonly byte[] Bom = [0xEF, 0xBB, 0xBF];

    private async Task<(List<float[]> X, List<long> Y)> ReadTextAsync(string text, int features, NonFiniteNumbers nonFinite = NonFiniteNumbers.Reject)
    {
        await using var loader = Pipeline.From(JsonLines.Read(Write(text))).Build(Collate.Json("x", features, "y", nonFinite), new LoaderOptions { BatchSize = 4, Workers = 2 });
        return await ReadAllAsync(loader);
    }

    private static async Task<DataLoaderException> ReadFailingAsync(string path, int features, NonFiniteNumbers nonFinite = NonFiniteNumbers.Reject)
    {
        await using var loader = Pipeline.From(JsonLines.Read(path)).Build(Collate.Json("x", features, "y", nonFinite), new LoaderOptions { BatchSize = 4, Workers = 2 });
        return await Assert.ThrowsAsync<DataLoaderException>(() => ReadAllAsync(loader));
    }

    [Fact]
    public async Task Read_Utf8ByteOrderMark_FirstLineParses()
    {
        var path = WriteBytes([.. Bom, .. "{\"x\":[1],\"y\":7}\r\n{\"x\":[2],\"y\":8}\r\n"u8]);
        await using var loader = Pipeline.From(JsonLines.Read(path)).Build(Collate.Json("x", 1, "y"), new LoaderOptions { BatchSize = 4 });

        var (x, y) = await ReadAllAsync(loader);

        Assert.Equal([[1f], [2f]], x);
        Assert.Equal([7L, 8], y);
    }

    [Fact]
    public async Task Read_NumbersOfMoreThan19DigitsWithoutExponent_RoundedAsFloatParseDoes()
    {
        // printf("%.20f") and friends: 20 to 45 significant digits, no exponent.
        var random = new Random(11);
        var written = new List<string>();
        for (var i = 0; i < 600; i++)
        {
            var value = (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-6, 7));
            written.Add(value.ToString("F" + random.Next(20, 31), CultureInfo.InvariantCulture));
        }

        written.Add("123456789012345678901234567890");
        written.Add("0.000000000000000000000000000000000000000000001401298464324817070923729583289916131280");
        written.Add("-340282346638528859811704183484516925440.0000000001");
        var text = string.Concat(written.Select((w, i) => $"{{\"x\":[{w}],\"y\":{i}}}\n"));

        var (x, _) = await ReadTextAsync(text, 1);

        Assert.Equal(written.Select(w => float.Parse(w, CultureInfo.InvariantCulture)), x.Select(v => v[0]));
    }

    [Fact]
    public async Task Read_DecimalsJustAroundTheMidpointOfTwoFloats_RoundToTheNearerFloat()
    {
        // Decimals closer to the exact half-way point of two floats than a double's precision round to the midpoint
        // (or a neighbour of it) as doubles, so double-then-float picks by ties-to-even; the nearer float is right.
        // Even cases: 30-digit decimals 1e-29 away. Odd cases: the midpoint rounded to 16 decimals (at most 19
        // significant digits, the fast path's domain).
        var random = new Random(5);
        var expected = new List<float>();
        var text = new StringBuilder();
        for (var i = 0; i < 1000; i++)
        {
            var low = (float)(1 + (random.NextDouble() * 999));
            var high = MathF.BitIncrement(low);
            var midpoint = new BigInteger(((double)low + high) * (1 << 23)) * BigInteger.Pow(5, 24); // × 10^24, exact
            BigInteger written;
            int decimals;
            if (i % 2 == 0)
            {
                decimals = 29;
                written = (midpoint * 100_000) + (i % 4 == 0 ? -1 : 1);
                expected.Add(i % 4 == 0 ? low : high);
            }
            else
            {
                decimals = 16;
                written = BigInteger.Divide(midpoint + 50_000_000, 100_000_000);
                var compared = (written * 100_000_000).CompareTo(midpoint);
                if (compared == 0)
                {
                    continue;
                }

                expected.Add(compared < 0 ? low : high);
            }

            var digits = written.ToString(CultureInfo.InvariantCulture);
            text.Append(CultureInfo.InvariantCulture, $"{{\"x\":[{digits[..^decimals]}.{digits[^decimals..]}],\"y\":{i}}}\n");
        }

        var (x, _) = await ReadTextAsync(text.ToString(), 1);

        Assert.Equal(expected, x.Select(v => v[0]));
    }

    [Fact]
    public async Task Read_Int64LabelsAbove2To53_Exact()
    {
        long[] labels = [9_007_199_254_740_993, -9_007_199_254_740_993, long.MaxValue, long.MinValue, 1_234_567_890_123_456_789, 0];
        var text = string.Concat(labels.Select(l => $"{{\"x\":[0],\"y\":{l}}}\n")) + "{\"x\":[0],\"y\":3.0}\n{\"x\":[0],\"y\":1e2}\n{\"x\":[0],\"y\":9007199254740993.0}\n";

        var (_, y) = await ReadTextAsync(text, 1);

        Assert.Equal([.. labels, 3, 100, 9_007_199_254_740_993], y);
    }

    [Theory]
    [InlineData("9223372036854775808", "does not fit in Int64")]
    [InlineData("-9223372036854775809", "does not fit in Int64")]
    [InlineData("1e20", "does not fit in Int64")]
    [InlineData("2.5", "expected an integer")]
    [InlineData("4503599627370495.5", "expected an integer")]
    [InlineData("1e-400", "expected an integer")]
    [InlineData("NaN", "expected an integer")]
    public async Task Read_LabelOutOfRangeOrInexact_ErrorNamesLine(string label, string problem)
    {
        var path = Write($"{{\"x\":[0],\"y\":1}}\n{{\"x\":[0],\"y\":{label}}}\n");

        var error = await ReadFailingAsync(path, 1);

        Assert.Contains($"{path}:2:", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_EscapedKeys_Recognised()
    {
        var text = "{\"\\u0078\":[1,2],\"\\u0079\":5}\n{\"x\\u0000\":[9],\"\\\"x\":[9],\"x\":[3,4],\"y\":6,\"\\ud83d\\ude00\":0}\n";

        var (x, y) = await ReadTextAsync(text, 2);

        Assert.Equal([[1f, 2], [3f, 4]], x);
        Assert.Equal([5L, 6], y);
    }

    [Fact]
    public async Task Read_KeyWithInvalidEscape_ErrorNamesLine()
    {
        var path = Write("{\"\\q\":1,\"x\":[1],\"y\":0}\n");

        var error = await ReadFailingAsync(path, 1);

        Assert.Contains($"{path}:1: column 2: malformed string", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("NaN", "NaN is not a JSON number")]
    [InlineData("-Infinity", "-Infinity is not a JSON number")]
    [InlineData("1e39", "1e39 is outside the Float32 range")]
    [InlineData("-4e38", "-4e38 is outside the Float32 range")]
    public async Task Read_NonFiniteNumberByDefault_RejectedWithLineAndColumn(string number, string problem)
    {
        var path = Write($"{{\"x\":[0,1],\"y\":0}}\n{{\"x\":[0,{number}],\"y\":0}}\n");

        var error = await ReadFailingAsync(path, 2);

        Assert.Contains($"{path}:2: column 9: {problem}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_NonFiniteNumbersAllowed_WrittenAsFloat()
    {
        var text = "{\"x\":[NaN, Infinity, -Infinity, 1e39, -1e39, 1e-50],\"meta\":NaN,\"y\":1}\n";

        var (x, _) = await ReadTextAsync(text, 6, NonFiniteNumbers.Allow);

        Assert.Equal([float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.PositiveInfinity, float.NegativeInfinity, 0f], x[0]);
    }

    [Fact]
    public async Task Read_NonFiniteNumbersCounted_WrittenAndEachFeatureValueCountedInTheEpochStatistics()
    {
        // 4 non-finite features in line 1 (1e39 is beyond Float32), 1 in line 3; the ignored field's NaN is not training data.
        var text = "{\"x\":[NaN, Infinity, -Infinity, 1e39],\"meta\":NaN,\"y\":1}\n{\"x\":[1, 2, 3, 4],\"y\":2}\n{\"x\":[0, NaN, 0, 0],\"y\":3}\n";
        await using var loader = Pipeline.From(JsonLines.Read(Write(text))).Build(Collate.Json("x", 4, "y", NonFiniteNumbers.Count), new LoaderOptions { BatchSize = 2, Workers = 2 });

        var (x, _) = await ReadAllAsync(loader);

        Assert.Equal([float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.PositiveInfinity], x[0]);
        Assert.True(float.IsNaN(x[2][1]));
        Assert.Equal(5, loader.Statistics[0].NonFiniteValues);
        Assert.Equal(3, loader.Statistics[0].Delivered);
    }

    [Fact]
    public async Task Read_NonFiniteInIgnoredFieldByDefault_Rejected()
    {
        var path = Write("{\"x\":[0],\"loss\":NaN,\"y\":0}\n");

        var error = await ReadFailingAsync(path, 1);

        Assert.Contains($"{path}:1: column 17: NaN is not a JSON number", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_LineLongerThanMaximum_FailsNamingFileAndLine()
    {
        var path = Write($"{{\"x\":[1],\"y\":0}}\n{{\"x\":[1],\"pad\":\"{new string('a', 5000)}\",\"y\":1}}\n{{\"x\":[3],\"y\":2}}\n");
        await using var loader = Pipeline.From(JsonLines.Read(path, maxLineLength: 1000)).Build(Collate.Json("x", 1, "y"), new LoaderOptions { BatchSize = 4 });

        var error = await Assert.ThrowsAsync<DataLoaderException>(() => ReadAllAsync(loader));

        Assert.Equal(1, error.SampleIndex);
        Assert.Contains($"{path}:2: the line is longer than the maximum of 1000 bytes", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(100)] // the long lines span several 64 KiB blocks
    [InlineData(200_000)]
    public async Task Read_LinesLongerThanMaximumUnderSkip_DeadLettersAndTheRestArrive(int maxLineLength)
    {
        var longLine = $"{{\"x\":[1],\"pad\":\"{new string('a', 300_000)}\",\"y\":9}}";
        var path = Write($"{{\"x\":[1],\"y\":0}}\n{longLine}\n{{\"x\":[3],\"y\":2}}\n{longLine}");
        await using var loader = Pipeline.From(JsonLines.Read(path, maxLineLength)).Build(Collate.Json("x", 1, "y"), new LoaderOptions { BatchSize = 4, ErrorPolicy = ErrorPolicy.Skip });

        var (_, y) = await ReadAllAsync(loader);

        Assert.Equal([0L, 2], y);
        var dead = loader.DeadLetters.Where(d => d.Epoch == 0).ToList();
        Assert.Equal([1L, 3], dead.Select(d => d.SampleIndex).Order());
        Assert.All(dead, d => Assert.Contains($"longer than the maximum of {maxLineLength} bytes", d.Reason, StringComparison.Ordinal));
        Assert.Contains(dead, d => d.Reason.StartsWith($"{path}:4:", StringComparison.Ordinal));
    }

    [Fact]
    public void Read_MaxLineLengthOutOfRange_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => JsonLines.Read("a.jsonl", 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => JsonLines.Read("a.jsonl", int.MaxValue));
        Assert.Throws<ArgumentOutOfRangeException>(() => Collate.Json("x", 1, "y", (NonFiniteNumbers)7));
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n\r\n\n")]
    [InlineData("\uFEFF")]
    public async Task Read_EmptyFile_EmptyEpochNoError(string text)
    {
        await using var loader = Pipeline.From(JsonLines.Read(Write(text))).Build(Collate.Json("x", 1, "y"), new LoaderOptions { BatchSize = 4 });

        var (x, _) = await ReadAllAsync(loader);

        Assert.Empty(x);
    }

    [Fact]
    public async Task Read_BinaryGarbage_FailsWithFileAndLine()
    {
        var garbage = new byte[4096];
        new Random(7).NextBytes(garbage);
        var path = WriteBytes([.. "{\"x\":[1],\"y\":0}\n"u8, .. garbage]);

        var error = await ReadFailingAsync(path, 1);

        Assert.IsType<InvalidDataException>(error.InnerException);
        Assert.Contains($"{path}:2:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingFile_FileNotFoundNamesThePath()
    {
        var path = Path.Combine(_directory, "absent.jsonl");

        var error = await ReadFailingAsync(path, 1);

        Assert.Equal(path, Assert.IsType<FileNotFoundException>(error.InnerException).FileName);
    }

    [Fact]
    public async Task Read_FileTruncatedMidRead_IOExceptionNamingFileAndLine()
    {
        var lines = string.Concat(Enumerable.Range(0, 20_000).Select(i => $"{{\"x\":[{i}],\"y\":{i}}}\n"));
        var path = Write(lines);
        var read = 0;
        var error = await Assert.ThrowsAsync<IOException>(async () =>
        {
            await foreach (var line in JsonLines.Read(path))
            {
                if (read++ == 0)
                {
                    // Cut the file while the first 64 KiB block is being handed out.
                    using var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
                    file.SetLength(file.Length / 2);
                }
            }
        });

        Assert.Contains($"'{path}' shrank from", error.Message, StringComparison.Ordinal);
        Assert.Contains($"truncated after line {read}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Read_FileDeletedMidRead_OpenEpochCompletesNextOneReportsMissingFile()
    {
        var path = Write(string.Concat(Enumerable.Range(0, 20_000).Select(i => $"{{\"x\":[{i}],\"y\":{i}}}\n")));
        var numbers = new List<long>();
        await foreach (var line in JsonLines.Read(path))
        {
            if (numbers.Count == 0)
            {
                File.Delete(path); // POSIX: the open file lives on until closed, so this epoch loses nothing
            }

            numbers.Add(line.LineNumber);
        }

        Assert.Equal(Enumerable.Range(1, 20_000).Select(i => (long)i), numbers);
        var missing = await Assert.ThrowsAsync<FileNotFoundException>(async () =>
        {
            await foreach (var line in JsonLines.Read(path))
            {
            }
        });
        Assert.Equal(path, missing.FileName);
    }

    [Theory]
    [InlineData("{\"x\":[1,2,3],\"y\":0}", "\"x\" has 3 numbers; expected 2")]
    [InlineData("{\"x\":[1],\"y\":0}", "\"x\" has 1 numbers; expected 2")]
    [InlineData("{\"x\":[1,2],\"y\":0} {}", "unexpected text after the object")]
    [InlineData("{\"x\":[1,,2],\"y\":0}", "expected a number")]
    [InlineData("{\"x\":[1.,2],\"y\":0}", "expected a digit after '.'")]
    [InlineData("{\"x\":[1e,2],\"y\":0}", "expected a digit in the exponent")]
    [InlineData("{\"x\":[1,2],\"y\":0,\"z\":[}", "column 22")]
    [InlineData("{\"x", "unterminated string")]
    public async Task MalformedLine_SkipPolicy_DeadLetterWithFileLineAndReason(string bad, string problem)
    {
        var path = Write($"{{\"x\":[1,2],\"y\":0}}\n{bad}\n{{\"x\":[1,2],\"y\":2}}\n");
        await using var loader = Pipeline.From(JsonLines.Read(path)).Build(Collate.Json("x", 2, "y"), new LoaderOptions { BatchSize = 2, ErrorPolicy = ErrorPolicy.Skip });

        var (_, y) = await ReadAllAsync(loader);

        Assert.Equal([0L, 2], y);
        var dead = Assert.Single(loader.DeadLetters, d => d.Epoch == 0);
        Assert.Equal(1, dead.SampleIndex);
        Assert.IsType<InvalidDataException>(dead.Error);
        Assert.StartsWith($"{path}:2: ", dead.Reason, StringComparison.Ordinal);
        Assert.Contains(problem, dead.Reason, StringComparison.Ordinal);
    }
}
