using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using StreamingLoader.Text;
using StreamingLoader.Batching;
using StreamingLoader.Sources;
using StreamingLoader.Telemetry;

namespace StreamingLoader.Cli;

/// <summary>
/// <c>streamingloader bench tokenize --data FILE</c>: JSON Lines of raw text through the loader, GPT-2 tokenization in
/// the workers, into batches padded to a fixed length; tokens per second. The anchor is npm's tiktoken under Node on the
/// same file (tests/StreamingLoader.Benchmarks/compare_tokenize.sh runs both).
/// </summary>
internal static class TokenizeBenchCommand
{
    private const int TimedRuns = 5;

    public static Command Create()
    {
        var data = new Option<FileInfo>("--data") { Description = "JSON Lines file, one document per line: {\"text\": \"...\"}.", Required = true };
        var field = new Option<string>("--field") { Description = "The text field.", DefaultValueFactory = _ => "text" };
        var batch = new Option<int>("--batch") { Description = "Batch size.", DefaultValueFactory = _ => 64 };
        var maxLength = new Option<int>("--max-length") { Description = "Tokens per row: shorter documents are padded, longer ones cut.", DefaultValueFactory = _ => 512 };
        var workers = BenchCommand.WorkersOption();
        var json = BenchCommand.JsonOption();
        var command = new Command("tokenize", "GPT-2 tokenization of JSON Lines text in the loader, into padded Int64 batches; tokens/s.") { data, field, batch, maxLength, workers, json };
        command.SetAction(async (result, ct) =>
        {
            var path = result.GetValue(data)!.FullName;
            if (!File.Exists(path))
            {
                await Console.Error.WriteLineAsync($"error: {path} does not exist (tests/StreamingLoader.Benchmarks/compare_tokenize.sh writes fortunes.jsonl).");
                return 2;
            }

            var collator = new LengthPadCollator(result.GetValue(maxLength));
            var options = new LoaderOptions { BatchSize = result.GetValue(batch), Workers = result.GetValue(workers), Name = "bench-tokenize" };
            DataLoader Build(TextTokenizer tokenizer) =>
                Pipeline.From(JsonLines.Read(path)).Transform(Tokenize.JsonField(tokenizer, result.GetValue(field)!)).Build(collator, options);
            var figures = await RunAsync(Build, collator, ct);
            if (!result.GetValue(json))
            {
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"tokenize: {figures.Documents:N0} documents, {figures.Tokens:N0} tokens in {figures.Seconds:F3} s = {figures.TokensPerS / 1e6:F2}M tokens/s; first epoch of the process {figures.FirstEpochTokensPerS / 1e6:F2}M, an epoch with an empty piece cache {figures.EmptyCacheTokensPerS / 1e6:F2}M; {figures.AllocatedBytesPerSample:F0} B allocated per sample; {figures.Workers} workers"));
            }

            Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(figures, TokenizeJson.Default.TokenizeFigures));
            return 0;
        });
        return command;
    }

    /// <summary>
    /// The first epoch of the process (code compiled as it runs, the piece cache empty: every distinct piece
    /// byte-pair encoded once), then warm-up to at least 3 epochs and 1 s, then an epoch of a tokenizer whose piece
    /// cache is empty, then five timed epochs, each the first of a new loader; the median is reported.
    /// </summary>
    private static async Task<TokenizeFigures> RunAsync(Func<TextTokenizer, DataLoader> build, LengthPadCollator collator, CancellationToken cancellationToken)
    {
        var gpt2 = TextTokenizer.Gpt2();
        var firstEpoch = await TimeEpochAsync(build(gpt2), cancellationToken);
        int workers;
        await using (var warm = build(gpt2))
        {
            workers = warm.Options.Workers;
            var warmStart = Stopwatch.GetTimestamp();
            for (var epoch = 0; epoch < 2 || Stopwatch.GetElapsedTime(warmStart) < TimeSpan.FromSeconds(1); epoch++)
            {
                await ConsumeEpochAsync(warm, cancellationToken);
            }
        }

        var emptyCache = await TimeEpochAsync(build(TextTokenizer.Gpt2WithEmptyCache()), cancellationToken);
        var runs = new List<(long Documents, long Tokens, double Seconds, double FirstBatchMs, double AllocatedPerSample)>();
        PipelineProfile? profile = null;
        for (var run = 0; run < TimedRuns; run++)
        {
            await using var loader = build(gpt2);
            using var profiler = PipelineProfiler.Start(loader.Options.Name);
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
            var start = Stopwatch.GetTimestamp();
            var (documents, tokens, firstBatch) = await ConsumeEpochAsync(loader, cancellationToken);
            var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
            runs.Add((documents, tokens, seconds, firstBatch.TotalMilliseconds, allocated / (double)documents));
            profile ??= profiler.Snapshot();
        }

        await Console.Error.WriteLineAsync($"epochs (s): {string.Join(", ", runs.Select(r => r.Seconds.ToString("F4", CultureInfo.InvariantCulture)))}");
        await Console.Error.WriteLineAsync($"bottleneck: {profile}");
        var median = runs.OrderBy(r => r.Seconds).ElementAt(runs.Count / 2);
        using var process = Process.GetCurrentProcess();
        return new TokenizeFigures(
            "tokenize", median.Documents, median.Tokens, median.Seconds, median.Tokens / median.Seconds, median.Documents / median.Seconds,
            firstEpoch, emptyCache, median.FirstBatchMs, median.AllocatedPerSample, process.PeakWorkingSet64 / (1024.0 * 1024.0), workers, collator.MaxLength,
            "gpt2");
    }

    /// <summary>One epoch of <paramref name="loader"/>, which is disposed; tokens/s.</summary>
    private static async Task<double> TimeEpochAsync(DataLoader loader, CancellationToken cancellationToken)
    {
        await using (loader)
        {
            var start = Stopwatch.GetTimestamp();
            var (_, tokens, _) = await ConsumeEpochAsync(loader, cancellationToken);
            return tokens / Stopwatch.GetElapsedTime(start).TotalSeconds;
        }
    }

    private static async Task<(long Documents, long Tokens, TimeSpan FirstBatch)> ConsumeEpochAsync(DataLoader loader, CancellationToken cancellationToken)
    {
        long documents = 0;
        long tokens = 0;
        long checksum = 0;
        var start = Stopwatch.GetTimestamp();
        var firstBatch = TimeSpan.Zero;
        await foreach (var batch in loader.ReadEpochAsync(cancellationToken))
        {
            using (batch)
            {
                if (documents == 0)
                {
                    firstBatch = Stopwatch.GetElapsedTime(start);
                }

                // Read every id, so the benchmark cannot skip work.
                checksum += System.Numerics.Tensors.TensorPrimitives.Sum<long>(batch.Features.AsSpan<long>());
                documents += batch.Count;
                tokens += System.Numerics.Tensors.TensorPrimitives.Sum<long>(batch.Labels.AsSpan<long>());
            }
        }

        GC.KeepAlive(checksum);
        return (documents, tokens, firstBatch);
    }

    /// <summary>
    /// Token ids widened to Int64 and padded with end-of-text (or cut) to a fixed length, features [n, length]; the
    /// label is the document's token count before cutting, so the consumer counts exactly the tokens it received (the
    /// loader collates ahead into the next epoch, which a count in the collator would include). A stand-in until the
    /// core's padding collator lands (issue 18).
    /// </summary>
    private sealed class LengthPadCollator(int maxLength) : Collator<TokenizedText>
    {
        public int MaxLength => maxLength;

        public override BatchLayout GetLayout(TokenizedText firstSample) => new(ElementType.Int64, [maxLength], ElementType.Int64, []);

        public override void Write(in TokenizedText sample, int slot, Batch batch)
        {
            try
            {
                var ids = sample.Ids;
                var row = batch.Features.Sample<long>(slot);
                var n = Math.Min(ids.Length, row.Length);
                for (var i = 0; i < n; i++)
                {
                    row[i] = ids[i];
                }

                row[n..].Fill(50256);
                batch.Labels.Sample<long>(slot)[0] = ids.Length;
            }
            finally
            {
                sample.Dispose();
            }
        }
    }
}

internal sealed record TokenizeFigures(
    string Workload,
    long Documents,
    long Tokens,
    double Seconds,
    double TokensPerS,
    double SamplesPerS,
    double FirstEpochTokensPerS,
    double EmptyCacheTokensPerS,
    double FirstBatchMs,
    double AllocatedBytesPerSample,
    double PeakRssMb,
    int Workers,
    int MaxLength,
    string Tokenizer);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.SnakeCaseLower)]
[System.Text.Json.Serialization.JsonSerializable(typeof(TokenizeFigures))]
internal sealed partial class TokenizeJson : System.Text.Json.Serialization.JsonSerializerContext;
