using System.Globalization;
using System.Text;
using StreamingLoader.Batching;
using StreamingLoader.Sources;

namespace StreamingLoader.Tests;

public sealed partial class JsonLinesTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("jsonl-tests").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Write(string text) => WriteBytes(new UTF8Encoding(false).GetBytes(text));

    private string WriteBytes(byte[] bytes)
    {
        var path = Path.Combine(_directory, $"{Guid.NewGuid():N}.jsonl");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    internal static async Task<(List<float[]> X, List<long> Y)> ReadAllAsync(DataLoader loader)
    {
        var x = new List<float[]>();
        var y = new List<long>();
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                for (var i = 0; i < batch.Count; i++)
                {
                    x.Add(batch.Features.Sample<float>(i).ToArray());
                }

                y.AddRange(batch.Labels.AsSpan<long>().ToArray());
            }
        }

        return (x, y);
    }

    [Fact]
    public async Task Read_ManyLinesAcrossBlocks_ParsesEveryNumberAsFloatParseDoes()
    {
        var random = new Random(3);
        var expected = new List<float[]>();
        var text = new StringBuilder();
        for (var line = 0; line < 5000; line++)
        {
            var values = Enumerable.Range(0, 3).Select(_ => (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-8, 8))).ToArray();
            var written = values.Select((v, i) => (i + line) % 3 == 0 ? v.ToString("R", CultureInfo.InvariantCulture) : v.ToString("E10", CultureInfo.InvariantCulture)).ToArray();
            expected.Add(written.Select(w => (float)double.Parse(w, CultureInfo.InvariantCulture)).ToArray());
            text.Append(CultureInfo.InvariantCulture, $"{{\"id\": \"s{line}\", \"x\": [{string.Join(", ", written)}], \"meta\": {{\"a\": [1, {{\"b\": null}}]}}, \"y\": {line % 10}}}");
            text.Append(line % 2 == 0 ? "\n" : "\r\n");
        }

        await using var loader = Pipeline.From(JsonLines.Read(Write(text.ToString()))).Build(Collate.Json("x", 3, "y"), new LoaderOptions { BatchSize = 64, Workers = 2 });
        var (x, y) = await ReadAllAsync(loader);
        Assert.Equal(5000, x.Count);
        for (var i = 0; i < x.Count; i++)
        {
            Assert.Equal(expected[i], x[i]);
            Assert.Equal(i % 10, y[i]);
        }
    }

    [Fact]
    public async Task Read_LastLineWithoutNewlineAndBlankLines_AreHandled()
    {
        var path = Write("{\"x\":[1,2],\"y\":0}\n\n{\"y\":1,\"x\":[3e0,-4.5]}");
        await using var loader = Pipeline.From(JsonLines.Read(path)).Build(Collate.Json("x", 2, "y"), new LoaderOptions { BatchSize = 8 });
        var (x, y) = await ReadAllAsync(loader);
        Assert.Equal([[1f, 2], [3f, -4.5f]], x);
        Assert.Equal([0L, 1], y);
    }

    [Theory]
    [InlineData("{\"x\":[1,2,3],\"y\":0}", "\"x\" has 3 numbers; expected 2")]
    [InlineData("{\"x\":[1,2],\"y\":0.5}", "expected an integer")]
    [InlineData("{\"x\":[1,\"a\"],\"y\":0}", "expected a number")]
    [InlineData("{\"x\":[1,2]}", "no \"y\" field")]
    [InlineData("{\"x\":[1,2],\"y\":0", "expected '}'")]
    [InlineData("[1,2]", "expected '{'")]
    public async Task MalformedLine_ErrorNamesFileLineAndProblem(string bad, string problem)
    {
        var path = Write($"{{\"x\":[1,2],\"y\":0}}\n{{\"x\":[1,2],\"y\":1}}\n{bad}\n{{\"x\":[1,2],\"y\":3}}\n");
        await using var loader = Pipeline.From(JsonLines.Read(path)).Build(Collate.Json("x", 2, "y"), new LoaderOptions { BatchSize = 2 });
        var error = await Assert.ThrowsAsync<DataLoaderException>(() => ReadAllAsync(loader));
        Assert.Equal(2, error.SampleIndex);
        Assert.Contains($"{path}:3:", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedLine_SkipPolicy_DeadLetterWithLineAndTheRestArrive()
    {
        var path = Write("{\"x\":[1],\"y\":0}\nnot json\n{\"x\":[3],\"y\":2}\n");
        await using var loader = Pipeline.From(JsonLines.Read(path)).Build(Collate.Json("x", 1, "y"), new LoaderOptions { BatchSize = 2, ErrorPolicy = ErrorPolicy.Skip });
        var (_, y) = await ReadAllAsync(loader);
        Assert.Equal([0L, 2], y);
        var dead = Assert.Single(loader.DeadLetters, d => d.Epoch == 0);
        Assert.Equal(1, dead.SampleIndex);
        Assert.Contains(":2:", dead.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingFile_ErrorNamesThePath()
    {
        var path = Path.Combine(_directory, "absent.jsonl");
        await using var loader = Pipeline.From(JsonLines.Read(path)).Build(Collate.Json("x", 1, "y"), new LoaderOptions { BatchSize = 2 });
        var error = await Assert.ThrowsAsync<DataLoaderException>(() => ReadAllAsync(loader));
        Assert.IsType<FileNotFoundException>(error.InnerException);
        Assert.Contains("absent.jsonl", error.Message, StringComparison.Ordinal);
    }
}
