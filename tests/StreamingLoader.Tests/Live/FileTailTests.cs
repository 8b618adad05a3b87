using System.Diagnostics.Metrics;
using System.Text;
using StreamingLoader.Sources;
using StreamingLoader.Batching;
using StreamingLoader.Telemetry;

namespace StreamingLoader.Tests.Live;

public sealed class FileTailTests : IDisposable
{
    private static readonly TailOptions Fast = new() { PollInterval = TimeSpan.FromMilliseconds(10) };
    private readonly LiveFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static async Task<List<TextLine>> TakeAsync(IAsyncEnumerator<TextLine> lines, int count)
    {
        var taken = new List<TextLine>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (taken.Count < count)
        {
            var next = lines.MoveNextAsync().AsTask();
            await next.WaitAsync(timeout.Token);
            Assert.True(next.Result, $"The tail ended after {taken.Count} of {count} lines.");
            taken.Add(lines.Current);
        }

        return taken;
    }

    private static string Text(TextLine line) => Encoding.UTF8.GetString(line.Utf8.Span);

    [Fact]
    public async Task Follow_PartialLinesWrittenInPieces_YieldsEachLineOnceWhenItsBreakArrives()
    {
        var path = _files.PathOf("pieces.jsonl");
        await using var lines = new FileTail(path, Fast).GetAsyncEnumerator();
        var reading = TakeAsync(lines, 3);

        // The file does not exist yet when the tail starts; then lines arrive split across writes.
        await Task.Delay(50);
        LiveFiles.Append(path, "alpha\nbr");
        await Task.Delay(60);
        LiveFiles.Append(path, "av");
        await Task.Delay(60);
        LiveFiles.Append(path, "o\r\n\ncharlie\n");
        var taken = await reading;

        Assert.Equal(["alpha", "bravo", "charlie"], taken.Select(Text));
        Assert.Equal([1L, 2L, 4L], taken.Select(l => l.LineNumber));
        Assert.Equal(new FileInfo(path).Length, taken[^1].Position!.Offset);
    }

    [Fact]
    public async Task Follow_FileRotatedByRename_ReadsTheOldFileToItsEndThenTheNewOne()
    {
        var path = _files.PathOf("rotate.log");
        LiveFiles.Append(path, "a1\na2\n");
        await using var lines = new FileTail(path, Fast).GetAsyncEnumerator();
        Assert.Equal(["a1", "a2"], (await TakeAsync(lines, 2)).Select(Text));

        // logrotate's create mode: rename, the writer still finishes into the old file, then a new file appears.
        File.Move(path, path + ".1");
        LiveFiles.Append(path + ".1", "a3\na4-no-newline");
        LiveFiles.Append(path, "b1\nb2\n");

        var rest = await TakeAsync(lines, 4);
        Assert.Equal(["a3", "a4-no-newline", "b1", "b2"], rest.Select(Text));
        Assert.Equal([1L, 2L], rest.Skip(2).Select(l => l.LineNumber));
    }

    [Fact]
    public async Task Follow_FileTruncatedAndRewritten_StartsAgainFromItsBeginning()
    {
        var path = _files.PathOf("truncate.log");
        LiveFiles.Append(path, "first-1\nfirst-2\nfirst-3\n");
        await using var lines = new FileTail(path, Fast).GetAsyncEnumerator();
        Assert.Equal(3, (await TakeAsync(lines, 3)).Count);

        // copytruncate: emptied in place, then written again.
        await File.WriteAllTextAsync(path, string.Empty);
        await Task.Delay(60);
        LiveFiles.Append(path, "second-1\n");
        var second = await TakeAsync(lines, 1);
        Assert.Equal("second-1", Text(second[0]));
        Assert.Equal(1, second[0].LineNumber);

        // Emptied and rewritten longer than before between two looks: the first bytes changed, so it is new too.
        await File.WriteAllTextAsync(path, "third-1 is a much longer line than any before it\nthird-2\n");
        var third = await TakeAsync(lines, 2);
        Assert.Equal(["third-1 is a much longer line than any before it", "third-2"], third.Select(Text));
    }

    [Fact]
    public async Task Follow_IdleTimeout_EndsAndLeavesAPartialLineUnread()
    {
        var path = _files.PathOf("idle.log");
        LiveFiles.Append(path, "one\ntwo\nthr");
        var options = new TailOptions { PollInterval = TimeSpan.FromMilliseconds(10), IdleTimeout = TimeSpan.FromMilliseconds(100) };
        var lines = new List<TextLine>();
        await foreach (var line in new FileTail(path, options))
        {
            lines.Add(line);
        }

        Assert.Equal(["one", "two"], lines.Select(Text));
        Assert.Equal(8, lines[^1].Position!.Offset);
    }

    [Fact]
    public void TailPosition_ToJson_RoundTrips()
    {
        var position = new TailPosition("/var/log/x.jsonl", 2049, 123456789, 1024, 0xDEADBEEFCAFEUL, 1 << 20, 4242);
        Assert.Equal(position, TailPosition.FromJson(position.ToJson()));
    }

    [Fact]
    public async Task Follow_RestartsFromStoredPositionsAcrossRotationAndTruncation_ConsumesEveryLineExactlyOnce()
    {
        var path = _files.PathOf("resume.jsonl");
        var options = new LoaderOptions { BatchSize = 16, Workers = 2 };
        var consumed = new List<long>();
        TailPosition? saved = null;
        var next = 0;

        void Write(string file, int count)
        {
            // Each write ends mid-line; the rest of that line comes with the next write.
            var text = LiveFiles.Lines(next, count);
            var cut = text.Length - 5;
            LiveFiles.Append(file, text[..cut]);
            LiveFiles.Append(file, text[cut..]);
            next += count;
        }

        // Runs a loader from the saved position until `stop` says so (or the tail goes idle), saving after each
        // batch; then drops it with lines read ahead and not consumed, as a process that stops does.
        async Task RunAsync(Func<bool> stop, TimeSpan idle, Action? afterBatch = null)
        {
            var tail = new FileTail(path, new TailOptions { PollInterval = TimeSpan.FromMilliseconds(10), IdleTimeout = idle }, saved);
            await using var loader = Pipeline.From(tail).Build(Collate.Json("x", 3, "y"), options);
            await using var reader = loader.ReadEpochAsync().GetAsyncEnumerator();
            while (!stop())
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                if (!await reader.MoveNextAsync().AsTask().WaitAsync(timeout.Token))
                {
                    break;
                }

                using var batch = reader.Current;
                var x = batch.Features.AsSpan<float>();
                var y = batch.Labels.AsSpan<long>();
                for (var i = 0; i < batch.Count; i++)
                {
                    Assert.Equal(-y[i], x[(i * 3) + 1]);
                }

                consumed.AddRange(y.ToArray());
                saved = tail.PositionAfter(batch);
                afterBatch?.Invoke();
            }
        }

        Write(path, 100);
        await RunAsync(() => consumed.Count >= 48, Timeout.InfiniteTimeSpan);
        Assert.Equal(48, consumed.Count);

        // While stopped: more lines, a rotation with the old file still growing, then lines in the new file.
        Write(path, 44);
        File.Move(path, path + ".1");
        Write(path + ".1", 20);
        Write(path, 60);
        await RunAsync(() => consumed.Count >= 128, Timeout.InfiniteTimeSpan);

        // The rest of the rotated file, the new file, then (once all of it is consumed) a truncation and new lines:
        // 224 + 48 lines, whole batches of 16, so the run can stop at the last line without waiting for an idle end.
        var truncated = false;
        await RunAsync(() => truncated && consumed.Count == next, Timeout.InfiniteTimeSpan, () =>
        {
            if (consumed.Count == next && !truncated)
            {
                truncated = true;
                File.WriteAllText(path, string.Empty);
                Write(path, 48);
            }
        });

        Assert.True(truncated);
        Assert.Equal(Enumerable.Range(0, next).Select(i => (long)i), consumed);
    }

    [Fact]
    public async Task Follow_ConsumerFallsBehind_BacklogGaugeShowsTheBytesNotReadYet()
    {
        var path = _files.PathOf("backlog.jsonl");
        LiveFiles.Append(path, LiveFiles.Lines(0, 20_000));
        var options = new LoaderOptions { BatchSize = 8, Workers = 1, Prefetch = 1, PoolSize = 3 };
        await using var loader = Pipeline.From(new FileTail(path, Fast)).Build(Collate.Json("x", 3, "y"), options);
        await using var batches = loader.ReadEpochAsync().GetAsyncEnumerator();
        Assert.True(await batches.MoveNextAsync());
        using var held = batches.Current;

        // The consumer holds its batch, the pipeline fills and the tail stops reading: most of the file waits.
        var backlog = await Eventually.SettlesAsync(() => ObserveBacklog(path), TimeSpan.FromMilliseconds(300), "the tail's backlog");
        Assert.InRange(backlog, new FileInfo(path).Length / 2, new FileInfo(path).Length);
    }

    private static long ObserveBacklog(string path)
    {
        long? observed = null;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == LoaderMetrics.MeterName && instrument.Name == "streamingloader.source.backlog")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "source" && (string?)tag.Value == path)
                {
                    observed = value;
                }
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        return observed ?? throw new InvalidOperationException("No backlog was observed for the file.");
    }
}
