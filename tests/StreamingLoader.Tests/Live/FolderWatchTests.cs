using System.Globalization;
using StreamingLoader.Datasets;
using StreamingLoader.Sources;

namespace StreamingLoader.Tests.Live;

public sealed class FolderWatchTests : IDisposable
{
    private readonly LiveFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static string Content(int file) =>
        string.Concat(Enumerable.Range(0, 200).Select(line => string.Create(CultureInfo.InvariantCulture, $"file {file} line {line}\n"))) + "END\n";

    /// <summary>Writes the content in pieces with pauses, as a slow producer does.</summary>
    private static async Task WriteSlowlyAsync(string path, string content)
    {
        await using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite);
        var bytes = System.Text.Encoding.UTF8.GetBytes(content);
        var piece = (bytes.Length / 5) + 1;
        for (var offset = 0; offset < bytes.Length; offset += piece)
        {
            await stream.WriteAsync(bytes.AsMemory(offset, Math.Min(piece, bytes.Length - offset)));
            await stream.FlushAsync();
            await Task.Delay(25);
        }
    }

    private static Sample<float, long> ToSample(WatchedFile file) =>
        new(new float[] { file.Length }, long.Parse(Path.GetFileNameWithoutExtension(file.Path), CultureInfo.InvariantCulture));

    [Fact]
    public async Task Watch_FilesAppearingWhileWritten_YieldsEachOnceInArrivalOrderAndNeverHalfWritten()
    {
        // The producer pauses 25 ms between pieces; a steady second is a wide margin even on a loaded machine.
        var options = new FolderWatchOptions { PollInterval = TimeSpan.FromMilliseconds(10), StableFor = TimeSpan.FromSeconds(1) };
        var watch = new FolderWatch(_files.Directory, options);
        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < 12; i++)
            {
                var name = _files.PathOf($"{i:D2}.rec");
                if (i % 2 == 0)
                {
                    // Written in place: only the wait for a steady size keeps it from being read half-written.
                    await WriteSlowlyAsync(name, Content(i));
                }
                else
                {
                    // Written under a temporary name, then renamed whole.
                    await WriteSlowlyAsync(name + ".part", Content(i));
                    File.Move(name + ".part", name);
                }
            }
        });

        var seen = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (var file in watch.WithCancellation(timeout.Token))
        {
            var text = await File.ReadAllTextAsync(file.Path);
            var number = int.Parse(Path.GetFileNameWithoutExtension(file.Path), CultureInfo.InvariantCulture);
            Assert.Equal(Content(number), text);
            Assert.Equal(text.Length, file.Length);
            Assert.Equal(seen.Count, file.Sequence);
            seen.Add(Path.GetFileName(file.Path));
            if (seen.Count == 12)
            {
                break;
            }
        }

        await producer;
        Assert.Equal(Enumerable.Range(0, 12).Select(i => $"{i:D2}.rec"), seen);
    }

    [Fact]
    public async Task Watch_ResumedFromTheStateAfterABatch_ReadsOnlyTheFilesNotConsumed()
    {
        for (var i = 0; i < 5; i++)
        {
            await File.WriteAllTextAsync(_files.PathOf($"{i}.bin"), new string('x', i + 1));
            File.SetLastWriteTimeUtc(_files.PathOf($"{i}.bin"), DateTime.UtcNow.AddMinutes(i - 10));
        }

        var options = new FolderWatchOptions { PollInterval = TimeSpan.FromMilliseconds(10), StableFor = TimeSpan.Zero, IdleTimeout = TimeSpan.FromMilliseconds(300) };
        var loaderOptions = new LoaderOptions { BatchSize = 2, Workers = 2 };
        var consumed = new List<long>();
        FolderWatchPosition state;
        var first = new FolderWatch(_files.Directory, options);
        await using (var loader = Pipeline.From(first).Transform((file, _) => ToSample(file)).Build(loaderOptions))
        {
            await using var batches = loader.ReadEpochAsync().GetAsyncEnumerator();
            Assert.True(await batches.MoveNextAsync());
            using var batch = batches.Current;
            consumed.AddRange(batch.Labels.AsSpan<long>().ToArray());
            state = FolderWatchPosition.FromJson(first.PositionAfter(batch).ToJson());
        }

        Assert.Equal(["0.bin", "1.bin"], state.Consumed);
        await File.WriteAllTextAsync(_files.PathOf("5.bin"), "new");
        await using (var loader = Pipeline.From(new FolderWatch(_files.Directory, options, state)).Transform((file, _) => ToSample(file)).Build(loaderOptions))
        {
            await foreach (var batch in loader.ReadEpochAsync())
            {
                using (batch)
                {
                    consumed.AddRange(batch.Labels.AsSpan<long>().ToArray());
                }
            }
        }

        Assert.Equal([0L, 1, 2, 3, 4, 5], consumed);
    }
}
