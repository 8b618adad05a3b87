using System.Text;
using System.Text.Json;
using StreamingLoader.Sources;

namespace StreamingLoader.Text.Tests;

/// <summary>
/// Tokenization inside a loader, end to end: JSON Lines, plain text lines and a text folder go through
/// <see cref="Tokenize"/> on two workers into padded batches (<see cref="PaddedRows"/>, the core's field collator), whose rows must hold
/// tiktoken's ids; bad samples become dead letters under <see cref="ErrorPolicy.Skip"/> and the statistics balance.
/// </summary>
public sealed class PipelineTests : IDisposable
{
    private const int Length = 96;
    private readonly TempFiles _files = new();

    [Fact]
    public async Task JsonLines_FortunesOnTwoWorkers_RowsAreTiktokenIdsPaddedAndLabelled()
    {
        var files = FortunesCorpus.Files();
        var docs = files.SelectMany((f, label) => FortunesCorpus.Fortunes(f.Bytes).Select(text => (Text: text, Label: (long)label))).Where((_, i) => i % 3 == 0).ToList();
        var jsonl = string.Concat(docs.Select(d => JsonSerializer.Serialize(new { text = Encoding.UTF8.GetString(d.Text), label = d.Label }) + "\n"));
        var path = _files.Write("fortunes.jsonl", jsonl);
        var expected = TiktokenReference.Encode([.. docs.Select(d => d.Text)]);

        await using var loader = Pipeline.From(JsonLines.Read(path))
            .Transform(Tokenize.JsonField(TextTokenizer.Gpt2(), "text", "label"))
            .Build(PaddedRows.Collator(Length), new LoaderOptions { BatchSize = 64, Workers = 2 });
        var rows = await PaddedRows.ReadEpochAsync(loader);

        Assert.Equal(docs.Count, rows.Count);
        for (var i = 0; i < docs.Count; i++)
        {
            Assert.Equal(Padded(expected[i].Ids!), rows[i].Row);
            Assert.Equal(docs[i].Label, rows[i].Label);
        }

        Assert.Contains(expected, e => e.Ids!.Length > Length); // some rows were cut, some padded
        Assert.Contains(expected, e => e.Ids!.Length < Length / 4);
    }

    [Fact]
    public async Task Lines_PlainTextFileOnePerLine_RowsAreTiktokenIds()
    {
        var lines = FortunesCorpus.Lines(FortunesCorpus.Files().Single(f => f.Category == "linux").Bytes).Take(3000).ToList();
        var path = _files.Write("linux.txt", [.. lines.SelectMany(l => (byte[])[.. l, (byte)'\n'])]);
        var expected = TiktokenReference.Encode(lines);

        await using var loader = Pipeline.From(JsonLines.Read(path))
            .Transform(Tokenize.Line(TextTokenizer.Gpt2()))
            .Build(PaddedRows.Collator(Length), new LoaderOptions { BatchSize = 100, Workers = 2 });
        var rows = await PaddedRows.ReadEpochAsync(loader);

        Assert.Equal(expected.Select(e => Padded(e.Ids!)), rows.Select(r => r.Row));
        Assert.All(rows, r => Assert.Equal(-1L, r.Label));
    }

    [Fact]
    public async Task FileTail_JsonLinesFollowedToTheEnd_RowsAreTiktokenIds()
    {
        // A tailed file (or a broker's message) becomes a TextLine of its bytes, named by its file and line.
        var docs = FortunesCorpus.Fortunes(FortunesCorpus.Files().Single(f => f.Category == "computers").Bytes).Take(500).ToList();
        var path = _files.Write("tail.jsonl", string.Concat(docs.Select(d => JsonSerializer.Serialize(new { text = Encoding.UTF8.GetString(d) }) + "\n")));
        var expected = TiktokenReference.Encode(docs);
        var tokenize = Tokenize.JsonField(TextTokenizer.Gpt2(), "text");

        await using var loader = Pipeline.From(new FileTail(path, new TailOptions { IdleTimeout = TimeSpan.Zero }))
            .Transform((line, context) => tokenize(new TextLine(line.Path, line.LineNumber, line.Utf8), context))
            .Build(PaddedRows.Collator(Length), new LoaderOptions { BatchSize = 32, Workers = 2 });
        var rows = await PaddedRows.ReadEpochAsync(loader);

        Assert.Equal(expected.Select(e => Padded(e.Ids!)), rows.Select(r => r.Row));
    }

    [Fact]
    public async Task TextFolder_OneDocumentPerFile_ClassesFromSubFoldersAndTiktokenIds()
    {
        var categories = FortunesCorpus.Files().Where(f => f.Category is "food" or "pets" or "science").ToList();
        var written = new List<(string Path, byte[] Text, long Label)>();
        foreach (var (category, bytes) in categories)
        {
            foreach (var (fortune, i) in FortunesCorpus.Fortunes(bytes).Take(40).Select((f, i) => (f, i)))
            {
                written.Add((_files.Write($"folder/{category}/{i:D3}.txt", fortune), fortune, categories.FindIndex(c => c.Category == category)));
            }
        }

        _files.Write("folder/food/notes.md", "not a .txt file");
        var folder = TextFolder.Load(Path.Combine(_files.Root, "folder"));
        var expected = TiktokenReference.Encode([.. written.Select(w => w.Text)]);

        await using var loader = Pipeline.From(folder)
            .Transform(Tokenize.File(TextTokenizer.Gpt2()))
            .Build(PaddedRows.Collator(Length), new LoaderOptions { BatchSize = 16, Workers = 2 });
        var rows = await PaddedRows.ReadEpochAsync(loader);

        Assert.Equal(["food", "pets", "science"], folder.Classes);
        Assert.Equal(written.Select(w => w.Path), folder.Files.Select(f => f.Path));
        Assert.Equal(expected.Select(e => Padded(e.Ids!)), rows.Select(r => r.Row));
        Assert.Equal(written.Select(w => w.Label), rows.Select(r => r.Label));
    }

    [Fact]
    public void TextFolder_NoClassFolderOrEmptyClass_ErrorNamesThem()
    {
        _files.Write("flat/a.txt", "text");
        _files.Write("classes/good/a.txt", "text");
        Directory.CreateDirectory(Path.Combine(_files.Root, "classes", "empty"));

        Assert.Contains("Couldn't find any class folder", Assert.Throws<FileNotFoundException>(() => TextFolder.Load(Path.Combine(_files.Root, "flat"))).Message, StringComparison.Ordinal);
        Assert.Contains("for the classes empty in", Assert.Throws<FileNotFoundException>(() => TextFolder.Load(Path.Combine(_files.Root, "classes"))).Message, StringComparison.Ordinal);
        Assert.Throws<DirectoryNotFoundException>(() => TextFolder.Load(Path.Combine(_files.Root, "nowhere")));
    }

    [Fact]
    public async Task JsonLines_BadLinesUnderSkip_DeadLettersNameFileAndLineAndStatisticsBalance()
    {
        string[] lines =
        [
            "{\"text\":\"Hello world\",\"label\":0}",
            "{\"title\":\"no text\",\"label\":1}",
            "{\"text\":42,\"label\":2}",
            "{\"text\":\"\",\"label\":3}",
            "{\"text\":\"bad \\uDEAD surrogate\",\"label\":4}",
            "{\"text\":\"INVALID\",\"label\":5}",
            "not json",
            "{\"text\":\"no label\"}",
            "{\"text\":\"fine again\",\"label\":8}",
        ];
        var bytes = Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n").ToList();
        var at = bytes.IndexOf((byte)'I');
        bytes[at] = 0xFF; // line 6 holds an invalid byte
        var path = _files.Write("mixed.jsonl", bytes.ToArray());

        await using var loader = Pipeline.From(JsonLines.Read(path))
            .Transform(Tokenize.JsonField(TextTokenizer.Gpt2(), "text", "label"))
            .Build(PaddedRows.Collator(8), new LoaderOptions { BatchSize = 4, Workers = 2, ErrorPolicy = ErrorPolicy.Skip });
        var rows = await PaddedRows.ReadEpochAsync(loader);

        Assert.Equal([0L, 8], rows.Select(r => r.Label));
        var dead = loader.DeadLetters.OrderBy(d => d.SampleIndex).ToList();
        Assert.Equal([1L, 2, 3, 4, 5, 6, 7], dead.Select(d => d.SampleIndex));
        Assert.All(dead, d => Assert.IsType<InvalidDataException>(d.Error));
        string[] problems = ["has no \"text\" field", "is a number, not a string", "empty string", "lone surrogate escape (\\uDEAD)", "invalid UTF-8 at byte 9 of the line (0xFF)", "not valid JSON", "has no \"label\" field"];
        for (var i = 0; i < dead.Count; i++)
        {
            Assert.StartsWith($"{path}:{i + 2}: ", dead[i].Reason, StringComparison.Ordinal);
            Assert.Contains(problems[i], dead[i].Reason, StringComparison.Ordinal);
        }

        var statistics = loader.Statistics[0];
        Assert.Equal((9L, 2L, 7L, 0L), (statistics.Read, statistics.Delivered, statistics.Skipped, statistics.Failed));
    }

    [Fact]
    public async Task JsonLines_BadLineUnderFail_LoaderFailsNamingFileAndLine()
    {
        var path = _files.Write("fail.jsonl", "{\"text\":\"ok\"}\n{\"text\":\"ok\"}\n{\"txt\":\"typo\"}\n");

        await using var loader = Pipeline.From(JsonLines.Read(path))
            .Transform(Tokenize.JsonField(TextTokenizer.Gpt2(), "text"))
            .Build(PaddedRows.Collator(8), new LoaderOptions { BatchSize = 2, Workers = 2 });
        var error = await Assert.ThrowsAsync<DataLoaderException>(() => PaddedRows.ReadEpochAsync(loader));

        Assert.Equal(2, error.SampleIndex);
        Assert.Contains($"{path}:3: the object has no \"text\" field.", error.Message, StringComparison.Ordinal);
    }

    private static long[] Padded(int[] ids) => [.. ids.Take(Length).Select(id => (long)id), .. Enumerable.Repeat(50256L, Math.Max(0, Length - ids.Length))];

    public void Dispose() => _files.Dispose();
}
