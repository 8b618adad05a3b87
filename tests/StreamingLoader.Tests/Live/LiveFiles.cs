using System.Globalization;
using System.Text;
using StreamingLoader.Batching;

namespace StreamingLoader.Tests.Live;

/// <summary>A temporary folder for live-source tests, and the lines they write.</summary>
public sealed class LiveFiles : IDisposable
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("live-tests").FullName;

    public string PathOf(string name) => Path.Combine(Directory, name);

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

    /// <summary>A JSON line whose label is <paramref name="id"/> and whose features derive from it.</summary>
    public static string EventLine(int id) =>
        string.Create(CultureInfo.InvariantCulture, $"{{\"x\":[{id * 0.5},{-id},{id % 7}],\"y\":{id}}}\n");

    public static void Append(string path, string text)
    {
        using var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        var bytes = Encoding.UTF8.GetBytes(text);
        stream.Write(bytes);
    }

    public static string Lines(int from, int count) => string.Concat(Enumerable.Range(from, count).Select(EventLine));

    /// <summary>Reads labels from batches until <paramref name="count"/> have come, or fails after a while.</summary>
    public static async Task<List<long>> TakeLabelsAsync(IAsyncEnumerator<Batch> batches, int count, Action<Batch>? afterEach = null)
    {
        var labels = new List<long>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (labels.Count < count)
        {
            var next = batches.MoveNextAsync().AsTask();
            await next.WaitAsync(timeout.Token);
            Assert.True(next.Result, $"The batches ended after {labels.Count} of {count} labels.");
            using var batch = batches.Current;
            labels.AddRange(batch.Labels.AsSpan<long>().ToArray());
            afterEach?.Invoke(batch);
        }

        return labels;
    }
}
