using System.CommandLine;
using System.Globalization;
using System.Text;
using StreamingLoader.CpuTraining;
using StreamingLoader.Sources;
using StreamingLoader.Batching;

namespace StreamingLoader.Samples.LiveTail;

/// <summary>What the sample does: how long it trains and where.</summary>
/// <param name="Directory">Where the producer writes events.jsonl and the trainer its checkpoint.</param>
/// <param name="Batches">How many batches to train on before stopping.</param>
/// <param name="BatchSize">Samples per batch.</param>
/// <param name="ReportEvery">Batches per "epoch": progress line and checkpoint.</param>
/// <param name="RotateEvery">Lines per file before the producer rotates it (events.jsonl → events.jsonl.N).</param>
public sealed record LiveTailOptions(string Directory, int Batches = 400, int BatchSize = 64, int ReportEvery = 50, int RotateEvery = 5000)
{
    internal SampleMetrics Metrics { get; init; } = SampleMetrics.Default;

    public static LiveTailOptions Parse(string[] args)
    {
        var d = new LiveTailOptions(Path.Combine(Path.GetTempPath(), "streamingloader-livetail"));
        var directory = SampleCommandLine.Text("--dir", d.Directory, "Where the producer writes events.jsonl and the trainer its checkpoint.");
        var batches = SampleCommandLine.Positive("--batches", d.Batches, "Batches to train on before stopping.");
        var batchSize = SampleCommandLine.Positive("--batch-size", d.BatchSize, "Samples per batch.");
        var reportEvery = SampleCommandLine.Positive("--report-every", d.ReportEvery, "Batches per progress line and checkpoint.");
        var rotateEvery = SampleCommandLine.Positive("--rotate-every", d.RotateEvery, "Lines per file before the producer rotates it.");
        var metrics = new SampleMetrics.Options();
        var result = SampleCommandLine.Parse(metrics.AddTo(new RootCommand("LiveTail") { directory, batches, batchSize, reportEvery, rotateEvery }), args, out _);
        return new LiveTailOptions(result.GetValue(directory)!, result.GetValue(batches), result.GetValue(batchSize), result.GetValue(reportEvery), result.GetValue(rotateEvery))
        {
            Metrics = metrics.Read(result),
        };
    }
}

/// <summary>What a run did.</summary>
public sealed record LiveTailResult(int Batches, IReadOnlyList<long> Ids, double LastAccuracy, TailPosition? Checkpoint);

/// <summary>
/// Online training on a file that is still being written: a producer appends JSON Lines events (8 features, one of
/// 3 classes) and rotates the file now and then; the trainer follows it with <see cref="FileTail"/>, trains a
/// softmax regression on each batch as it arrives (after scoring it: the accuracy is on data the model has not seen),
/// and saves the <see cref="TailPosition"/> after each report, so a second run goes on exactly where the first stopped.
/// </summary>
public static class Program
{
    private const int Features = 8;
    private const int Classes = 3;

    /// <summary>The event id rides in x[0], scaled small enough not to disturb the model and exact in a float.</summary>
    private const double IdScale = 1e-6;

    public static async Task<int> Main(string[] args)
    {
        var options = LiveTailOptions.Parse(args);
        await using var metrics = await options.Metrics.StartAsync("LiveTail", Console.Out);
        await RunAsync(options, Console.Out);
        return 0;
    }

    public static async Task<LiveTailResult> RunAsync(LiveTailOptions options, TextWriter output, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(options.Directory);
        var events = Path.Combine(options.Directory, "events.jsonl");
        var checkpointFile = Path.Combine(options.Directory, "checkpoint.json");
        var checkpoint = File.Exists(checkpointFile) ? TailPosition.FromJson(await File.ReadAllTextAsync(checkpointFile, cancellationToken)) : null;
        await output.WriteLineAsync(checkpoint is null ? $"Following {events} from its start" : $"Resuming {events} after line {checkpoint.LineNumber} (byte {checkpoint.Offset})");

        // The producer stops with the trainer; a producer that fails stops the trainer too (and its error is rethrown).
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var training = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var producer = Task.Run(
            async () =>
            {
                try
                {
                    await ProduceAsync(events, options.RotateEvery, stop.Token);
                }
                catch
                {
                    await training.CancelAsync();
                    throw;
                }
            },
            CancellationToken.None);
        var model = CpuModels.SoftmaxRegression(Features, Classes, learningRate: 0.5f, seed: 1);
        var ids = new List<long>();
        var (correct, seen, batches) = (0L, 0L, 0);
        var accuracy = 0.0;
        try
        {
            var tail = new FileTail(events, resumeFrom: checkpoint);
            await using var loader = Pipeline.From(tail)
                .Build(Collate.Json("x", Features, "y"), new LoaderOptions { BatchSize = options.BatchSize, Workers = 2, Name = "livetail" });
            await foreach (var batch in loader.ReadEpochAsync(training.Token))
            {
                using (batch)
                {
                    var score = model.Evaluate(batch);
                    (correct, seen) = (correct + score.Correct, seen + score.Count);
                    model.TrainStep(batch);
                    var x = batch.Features.AsSpan<float>();
                    for (var i = 0; i < batch.Count; i++)
                    {
                        ids.Add((long)Math.Round(x[i * Features] / IdScale));
                    }

                    checkpoint = tail.PositionAfter(batch);
                }

                if (++batches % options.ReportEvery == 0 || batches == options.Batches)
                {
                    accuracy = (double)correct / seen;
                    await File.WriteAllTextAsync(checkpointFile, checkpoint!.ToJson(), cancellationToken);
                    await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"batches {batches,5}: online accuracy {accuracy:F3} over the last {seen} samples; checkpoint {Path.GetFileName(checkpoint.Path)} line {checkpoint.LineNumber}"));
                    (correct, seen) = (0, 0);
                }

                if (batches == options.Batches)
                {
                    break;
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await producer;
        }

        return new LiveTailResult(batches, ids, accuracy, checkpoint);
    }

    /// <summary>
    /// Appends events in bursts, each line written in two pieces (the tail waits for the line break), rotating the
    /// file by renaming it, as logrotate does. The first feature is the event's id, so the consumer can check that
    /// it saw each event once; the class is the largest of three fixed linear scores of the other features.
    /// </summary>
    private static async Task ProduceAsync(string path, int rotateEvery, CancellationToken cancellationToken)
    {
        var next = ExistingEvents(path);
        var rotations = Directory.EnumerateFiles(Path.GetDirectoryName(path)!)
            .Select(f => int.TryParse(Path.GetFileName(f).AsSpan(Path.GetFileName(path).Length).TrimStart('.'), CultureInfo.InvariantCulture, out var n) && f.StartsWith(path + ".", StringComparison.Ordinal) ? n : 0)
            .DefaultIfEmpty(0).Max();
        var inFile = File.Exists(path) ? File.ReadLines(path).Count() : 0;
        var random = new Random((int)next);
        var x = new double[Features];
        var line = new StringBuilder();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await using (var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
                {
                    for (var i = 0; i < 500; i++, next++, inFile++)
                    {
                        x[0] = next * IdScale;
                        for (var f = 1; f < Features; f++)
                        {
                            x[f] = (random.NextDouble() * 2) - 1;
                        }

                        var label = Label(x);
                        line.Clear().Append(CultureInfo.InvariantCulture, $"{{\"x\":[{string.Join(',', x.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}],\"y\":{label}}}\n");
                        var bytes = Encoding.UTF8.GetBytes(line.ToString());
                        await file.WriteAsync(bytes.AsMemory(0, bytes.Length / 2), CancellationToken.None);
                        await file.FlushAsync(CancellationToken.None);
                        await file.WriteAsync(bytes.AsMemory(bytes.Length / 2), CancellationToken.None);
                    }
                }

                if (inFile >= rotateEvery)
                {
                    File.Move(path, $"{path}.{++rotations}");
                    inFile = 0;
                }

                await Task.Delay(20, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static int Label(double[] x)
    {
        // Three fixed directions in the 7 random features; the id (x[0]) plays no part.
        var a = x[1] + x[2] - x[3];
        var b = -x[1] + x[4] + (0.5 * x[5]);
        var c = x[6] - x[7] - (0.5 * x[2]);
        return a >= b && a >= c ? 0 : b >= c ? 1 : 2;
    }

    /// <summary>Events already written by an earlier run: the producer goes on numbering after them.</summary>
    private static long ExistingEvents(string path)
    {
        var directory = Path.GetDirectoryName(path)!;
        var name = Path.GetFileName(path);
        return Directory.EnumerateFiles(directory).Where(f => Path.GetFileName(f).StartsWith(name, StringComparison.Ordinal)).Sum(f => File.ReadLines(f).LongCount());
    }
}
