using System.Text;
using StreamingLoader.Batching;
using StreamingLoader.Sources;

namespace StreamingLoader.Tests.Live;

/// <summary>
/// Rotation the way a night of hourly log rotation does it: a trainer checkpoints, stops, and the file is rotated twice
/// before it comes back; or the tail falls behind while it follows. Every line is read once, in order: the rest of the
/// checkpointed file, the files rotated after it (oldest first, whatever the naming scheme), then the current one.
/// </summary>
public sealed class FileTailRotationTests : IDisposable
{
    private readonly LiveFiles _files = new();

    public void Dispose() => _files.Dispose();

    /// <summary>Ways to name rotated files: numbered upward (the sample's), logrotate's shift (.1 is the newest), dates.</summary>
    public static TheoryData<string> Schemes => ["upward", "logrotate", "dated"];

    [Theory]
    [MemberData(nameof(Schemes))]
    public async Task Resume_FileRotatedTwiceWhileStopped_ReadsTheRestOfItThenTheMiddleFileThenTheCurrentOne(string scheme)
    {
        var path = _files.PathOf("events.jsonl");
        var next = 0;
        void Write(string file, int count)
        {
            LiveFiles.Append(file, LiveFiles.Lines(next, count));
            next += count;
        }

        Write(path, 100);
        var (first, saved) = await ReadAsync(path, resumeFrom: null, until: 48);
        Assert.Equal(Enumerable.Range(0, 48).Select(i => (long)i), first);

        // While the trainer is down: the checkpointed file gets 20 more lines and is rotated; a second file fills
        // and is rotated; a third one starts.
        Write(path, 20);
        Rotate(path, scheme, 1);
        Write(path, 60);
        Rotate(path, scheme, 2);
        Write(path, 30);

        var (rest, _) = await ReadAsync(path, saved, until: next - 48);
        Assert.Equal(Enumerable.Range(48, next - 48).Select(i => (long)i), rest);
    }

    [Fact]
    public async Task Resume_CheckpointedFileDeletedSince_FailsSayingWhatIsLostAndHowToGoOn()
    {
        var path = _files.PathOf("events.jsonl");
        LiveFiles.Append(path, LiveFiles.Lines(0, 100));
        var (_, saved) = await ReadAsync(path, resumeFrom: null, until: 48);

        // Rotated, a new file started, and the rotated one removed (logrotate's "rotate 0"; the new file exists before
        // the old one is removed, so it cannot take over its inode).
        File.Move(path, path + ".1");
        LiveFiles.Append(path, LiveFiles.Lines(100, 10));
        File.Delete(path + ".1");

        var error = await Assert.ThrowsAsync<DataLoaderException>(() => ReadAsync(path, saved, until: 10));

        Assert.Contains($"inode {saved.Inode} (line 48, byte {saved.Offset}), and no file in {_files.Directory} is that file any more", error.Message, StringComparison.Ordinal);
        Assert.Contains("create the FileTail without resumeFrom", error.Message, StringComparison.Ordinal);
        Assert.IsType<FileNotFoundException>(error.InnerException);
    }

    /// <summary>
    /// While following, the file is rotated twice between two looks at it (here: while nobody asks for a line). With
    /// the rotated names the middle file is read; following the path alone (<c>tail -F</c>), it is the one loss.
    /// </summary>
    [Theory]
    [InlineData(null, true)]
    [InlineData("", false)]
    public async Task Follow_FileRotatedTwiceBetweenTwoLooks_MiddleFileReadUnlessFollowingThePathAlone(string? rotatedNames, bool middleRead)
    {
        var path = _files.PathOf("app.log");
        LiveFiles.Append(path, "a1\na2\n");
        var options = new TailOptions { PollInterval = TimeSpan.FromMilliseconds(10), RotatedNames = rotatedNames };
        await using var lines = new FileTail(path, options).GetAsyncEnumerator();
        Assert.Equal(["a1", "a2"], await TakeAsync(lines, 2));

        File.Move(path, path + ".1");
        LiveFiles.Append(path + ".1", "a3\n");
        LiveFiles.Append(path, "b1\nb2\n");
        File.Move(path, path + ".2");
        LiveFiles.Append(path, "c1\n");

        string[] expected = middleRead ? ["a3", "b1", "b2", "c1"] : ["a3", "c1"];
        Assert.Equal(expected, await TakeAsync(lines, expected.Length));
    }

    /// <summary>Renames the file at <paramref name="path"/> as rotation number <paramref name="rotation"/> of a scheme.</summary>
    private static void Rotate(string path, string scheme, int rotation)
    {
        switch (scheme)
        {
            case "upward":
                File.Move(path, $"{path}.{rotation}");
                break;
            case "logrotate":
                for (var n = rotation - 1; n >= 1; n--)
                {
                    File.Move($"{path}.{n}", $"{path}.{n + 1}");
                }

                File.Move(path, path + ".1");
                break;
            default:
                // Dates that sort in the wrong order on purpose: the age of the file decides, not its name.
                File.Move(path, $"{path}.2024-06-0{3 - rotation}");
                break;
        }
    }

    /// <summary>Reads labels through a loader from <paramref name="resumeFrom"/> until <paramref name="until"/> came; returns them and the position after.</summary>
    private static async Task<(List<long> Labels, TailPosition Position)> ReadAsync(string path, TailPosition? resumeFrom, int until)
    {
        var tail = new FileTail(path, new TailOptions { PollInterval = TimeSpan.FromMilliseconds(10) }, resumeFrom);
        await using var loader = Pipeline.From(tail).Build(Collate.Json("x", 3, "y"), new LoaderOptions { BatchSize = 16, Workers = 2, BatchTimeout = TimeSpan.FromMilliseconds(200) });
        await using var batches = loader.ReadEpochAsync().GetAsyncEnumerator();
        TailPosition? position = null;
        var labels = await LiveFiles.TakeLabelsAsync(batches, until, batch => position = tail.PositionAfter(batch));
        return (labels, position!);
    }

    private static async Task<List<string>> TakeAsync(IAsyncEnumerator<TextLine> lines, int count)
    {
        var taken = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (taken.Count < count)
        {
            Assert.True(await lines.MoveNextAsync().AsTask().WaitAsync(timeout.Token), $"The tail ended after {taken.Count} of {count} lines.");
            taken.Add(Encoding.UTF8.GetString(lines.Current.Utf8.Span));
        }

        return taken;
    }
}
