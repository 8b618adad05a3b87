using System.CommandLine;
using StreamingLoader.Batching;
using StreamingLoader.Sources;

namespace StreamingLoader.Cli;

/// <summary>
/// <c>streamingloader bench tail|csv</c>: the live file sources on a file that is already written, followed to its
/// end (an idle timeout of zero ends the stream at the end of the file), measured as <see cref="BenchCommand"/> does.
/// </summary>
internal static class LiveBenchCommand
{
    public static Command CreateTail() =>
        Create("tail", "samples.jsonl", "Tail DIR/samples.jsonl ({\"x\":[32 floats],\"y\":int}) to its end.", (path, options) =>
            Pipeline.From(new FileTail(path, new TailOptions { IdleTimeout = TimeSpan.Zero })).Build(Collate.Json("x", 32, "y"), options));

    public static Command CreateCsv() =>
        Create("csv", "samples.csv", "Tail DIR/samples.csv (header f0..f31,y) to its end.", (path, options) =>
            Pipeline.From(new FileTail(path, new TailOptions { IdleTimeout = TimeSpan.Zero, HasHeader = true }))
                .Build(Collate.Csv([.. Enumerable.Range(0, 32).Select(i => $"f{i}")], "y"), options));

    private static Command Create(string name, string file, string description, Func<string, LoaderOptions, DataLoader> build)
    {
        var data = new Option<DirectoryInfo>("--data") { Description = $"Directory holding {file}.", Required = true };
        var batch = BenchCommand.BatchOption();
        var workers = BenchCommand.WorkersOption();
        var json = BenchCommand.JsonOption();
        var command = new Command(name, description) { data, batch, workers, json };
        command.SetAction(async (result, ct) =>
        {
            var path = Path.Combine(result.GetValue(data)!.FullName, file);
            if (!File.Exists(path))
            {
                await Console.Error.WriteLineAsync($"error: {path} does not exist (tests/StreamingLoader.Benchmarks/anchor/make_jsonl.py --csv writes it).");
                return 2;
            }

            var options = new LoaderOptions { BatchSize = result.GetValue(batch), Workers = result.GetValue(workers), Name = "bench-" + name };
            var figures = await BenchCommand.RunAsync(name, () => build(path, options), ct);
            BenchCommand.Report(figures, result.GetValue(json));
            return 0;
        });
        return command;
    }
}
