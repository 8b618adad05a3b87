using System.CommandLine;
using StreamingLoader.Batching;
using StreamingLoader.Datasets;
using StreamingLoader.Sources;

namespace StreamingLoader.Cli;

/// <summary>
/// <c>streamingloader bench text</c>: pre-tokenized JSON Lines (<c>DIR/tokens.jsonl</c>, <c>{"ids":[...],"y":int}</c>),
/// shuffled, each batch of 64 padded to its longest sample with an attention mask; <c>--bucket</c> batches by length.
/// </summary>
/// <remarks>
/// The file is read into memory once and each epoch draws its lines in a random order (map-style, as PyTorch's
/// anchor does it: its lines in memory, <c>json.loads</c> per item, <c>shuffle=True</c>); the collator parses each
/// line's ids straight into the batch, every epoch, as the anchor parses every epoch. That is what a user with a file
/// that fits in memory does: an exact shuffle, no file I/O after the first read, and no allocation per sample. A file
/// larger than memory would be streamed (<c>JsonLines.Read</c> with a shuffle buffer) through the same collator.
/// </remarks>
internal static partial class BenchCommand
{
    /// <summary>Bucket boundaries every 16 tokens, up to 512.</summary>
    internal static readonly int[] TextBuckets = [.. Enumerable.Range(1, 32).Select(i => 16 * i)];

    private static Command CreateText()
    {
        var data = new Option<DirectoryInfo>("--data") { Description = "Directory holding tokens.jsonl.", Required = true };
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 64 };
        var bucket = new Option<bool>("--bucket") { Description = "Batch samples of similar length together (buckets every 16 tokens)." };
        var workers = WorkersOption();
        var json = JsonOption();
        var metrics = new MetricsOptions();
        var command = new Command("text", "Pre-tokenized JSON Lines DIR/tokens.jsonl of {\"ids\":[int, ...],\"y\":int}, shuffled, padded to each batch's longest with an attention mask.")
        {
            data, batch, bucket, workers, json,
        };
        metrics.AddTo(command);
        command.SetAction(async (result, ct) =>
        {
            var path = Path.Combine(result.GetValue(data)!.FullName, "tokens.jsonl");
            if (!File.Exists(path))
            {
                await Console.Error.WriteLineAsync($"error: {path} does not exist (tests/StreamingLoader.Benchmarks/anchor/make_tokens.py writes it).");
                return 2;
            }

            await using var server = await metrics.StartAsync(result, Console.Error, "streamingloader-bench", ct);
            var lines = LinesInMemory(path);
            var options = new LoaderOptions
            {
                BatchSize = result.GetValue(batch), Shuffle = true, Seed = 1, Workers = result.GetValue(workers), Name = "bench-text",
                Bucketing = result.GetValue(bucket) ? new LengthBucketing { Boundaries = TextBuckets } : null,
            };
            var collator = new TokenIdsCollator();
            var figures = await RunAsync(result.GetValue(bucket) ? "text-bucketed" : "text", () => Pipeline.From(lines).Build(collator, options), ct);
            Report(figures, result.GetValue(json));
            return 0;
        });
        return command;
    }

    /// <summary>The file's lines over one array of its bytes: a sample is a slice, read without a copy.</summary>
    internal static IDataset<TextLine> LinesInMemory(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var starts = new List<(int Start, int Length)>();
        var at = 0;
        while (at < bytes.Length)
        {
            var end = Array.IndexOf(bytes, (byte)'\n', at);
            end = end < 0 ? bytes.Length : end;
            var length = end > at && bytes[end - 1] == (byte)'\r' ? end - at - 1 : end - at;
            if (length > 0)
            {
                starts.Add((at, length));
            }

            at = end + 1;
        }

        var lines = starts.ToArray();
        var memory = bytes.AsMemory();
        return Dataset.FromFunc(lines.Length, i => new TextLine(path, i + 1, memory.Slice(lines[i].Start, lines[i].Length)));
    }
}
