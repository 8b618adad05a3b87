using StreamingLoader.Sources;
using StreamingLoader.Batching;

namespace StreamingLoader.Tests.Live;

public sealed class CsvTests : IDisposable
{
    private static readonly TailOptions ToEnd = new() { HasHeader = true, PollInterval = TimeSpan.FromMilliseconds(10), IdleTimeout = TimeSpan.FromMilliseconds(150) };
    private readonly LiveFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static Task<(List<float[]> X, List<long> Y)> ReadAsync(DataLoader loader) => JsonLinesTests.ReadAllAsync(loader);

    [Fact]
    public async Task Collator_HeaderQuotesAndChosenColumns_WritesTheColumnsInTheOrderAsked()
    {
        var path = _files.PathOf("rows.csv");
        LiveFiles.Append(path, "id;a;\"b\";label;c\r\nr1;1.5;\"x;y\";3;-2e-3\n\"r\"\"2\";\"-0.25\";;\"4\";NaN\nr3; 7 ;z;5;+.5\n");
        await using var loader = Pipeline.From(new FileTail(path, ToEnd)).Build(Collate.Csv(["c", "a"], "label", ';'), new LoaderOptions { BatchSize = 2, Workers = 2 });

        var (x, y) = await ReadAsync(loader);

        Assert.Equal([3L, 4L, 5L], y);
        Assert.Equal([-2e-3f, 1.5f], x[0]);
        Assert.True(float.IsNaN(x[1][0]));
        Assert.Equal(-0.25f, x[1][1]);
        Assert.Equal([0.5f, 7f], x[2]);
    }

    [Fact]
    public async Task Collator_ColumnsByIndexWithoutHeader_ReadsEveryRow()
    {
        var path = _files.PathOf("plain.csv");
        LiveFiles.Append(path, string.Concat(Enumerable.Range(0, 100).Select(i => $"{i},{i * 2},{i % 3}\n")));
        var options = new TailOptions { PollInterval = TimeSpan.FromMilliseconds(10), IdleTimeout = TimeSpan.FromMilliseconds(150) };
        await using var loader = Pipeline.From(new FileTail(path, options)).Build(Collate.Csv([1, 0], 2), new LoaderOptions { BatchSize = 32 });

        var (x, y) = await ReadAsync(loader);

        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)(i % 3)), y);
        Assert.All(Enumerable.Range(0, 100), i => Assert.Equal([i * 2f, i], x[i]));
    }

    [Fact]
    public async Task Collator_RotatedFileWithOtherColumnOrder_ReadsEachFileByItsOwnHeader()
    {
        var path = _files.PathOf("rotating.csv");
        LiveFiles.Append(path, "f,label\n1,10\n");
        var tail = new TailOptions { HasHeader = true, PollInterval = TimeSpan.FromMilliseconds(10) };
        await using var loader = Pipeline.From(new FileTail(path, tail)).Build(Collate.Csv(["f"], "label"), new LoaderOptions { BatchSize = 1 });
        await using var batches = loader.ReadEpochAsync().GetAsyncEnumerator();
        Assert.Equal([10L], await LiveFiles.TakeLabelsAsync(batches, 1));

        File.Move(path, path + ".1");
        LiveFiles.Append(path, "label,other,f\n20,x,2\n");

        Assert.Equal([20L], await LiveFiles.TakeLabelsAsync(batches, 1));
    }

    [Theory]
    [InlineData("1,2,3\n4,oops,6\n", 2, "column 2: \"oops\" is not a number")]
    [InlineData("1,2,3\n4,5\n", 2, "the row has 2 columns; expected at least 3")]
    [InlineData("1,2,3\n\"4,5,6\n", 2, "byte 1: a quoted field is not closed")]
    [InlineData("1,2,3\n4,5,6.5\n", 2, "column 3: the label \"6.5\" is not an integer")]
    [InlineData("1,,3\n", 1, "column 2 is empty")]
    public async Task Collator_MalformedRow_FailsWithFileLineAndReason(string rows, int line, string reason)
    {
        var path = _files.PathOf("bad.csv");
        LiveFiles.Append(path, "a,b,y\n" + rows);
        await using var loader = Pipeline.From(new FileTail(path, ToEnd)).Build(Collate.Csv(["a", "b"], "y"), new LoaderOptions { BatchSize = 4 });

        var error = await Assert.ThrowsAsync<DataLoaderException>(() => ReadAsync(loader));

        Assert.Contains($"{path}:{line + 1}: {reason}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Collator_MalformedRowsUnderSkip_DeadLettersThemWithReasonsAndKeepsTheRest()
    {
        var path = _files.PathOf("skip.csv");
        LiveFiles.Append(path, "a,y\n1,1\nbad,2\n3,3\n4\n5,5\n");
        await using var loader = Pipeline.From(new FileTail(path, ToEnd)).Build(Collate.Csv(["a"], "y"), new LoaderOptions { BatchSize = 2, ErrorPolicy = ErrorPolicy.Skip });

        var (_, y) = await ReadAsync(loader);

        Assert.Equal([1L, 3L, 5L], y);
        Assert.Collection(
            loader.DeadLetters.OrderBy(d => d.SampleIndex),
            d => Assert.Contains($"{path}:3: column 1: \"bad\" is not a number", d.Error.ToString(), StringComparison.Ordinal),
            d => Assert.Contains($"{path}:5: the row has 1 columns; expected at least 2", d.Error.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Collator_HeaderWithoutTheColumn_NamesTheColumnsItHas()
    {
        var path = _files.PathOf("header.csv");
        LiveFiles.Append(path, "a,b\n1,2\n");
        await using var loader = Pipeline.From(new FileTail(path, ToEnd)).Build(Collate.Csv(["a"], "label"), new LoaderOptions { BatchSize = 4 });

        var error = await Assert.ThrowsAsync<DataLoaderException>(() => ReadAsync(loader));

        Assert.Contains("the header has no column \"label\" (it has \"a\", \"b\")", error.ToString(), StringComparison.Ordinal);
    }
}
