using System.CommandLine;
using System.Diagnostics;
using System.Globalization;

namespace StreamingLoader.Stress;

/// <summary>
/// <c>stress</c>: runs each error and shutdown path (<see cref="StressPaths"/>) many times at several worker counts and
/// counts the runs that did not end within a deadline and those that ended wrong.
/// </summary>
internal static class StressCommand
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    public static Command Create()
    {
        var runs = new Option<int>("--runs") { Description = "Runs of each path at each worker count.", DefaultValueFactory = _ => 1000 };
        var workers = new Option<int[]>("--workers") { Description = "Worker counts.", DefaultValueFactory = _ => [1, 2, 4, 8], AllowMultipleArgumentsPerToken = true };
        var only = new Option<string?>("--path") { Description = "Only the paths whose name contains this text." };
        var command = new Command("stress", "Runs every error and shutdown path many times; counts hangs and wrong outcomes.") { runs, workers, only };
        command.SetAction(async (result, ct) =>
        {
            int total = 0, hangs = 0, wrong = 0;
            var clock = Stopwatch.StartNew();
            foreach (var (name, run) in StressPaths.All.Where(p => p.Name.Contains(result.GetValue(only) ?? "", StringComparison.OrdinalIgnoreCase)))
            {
                foreach (var w in result.GetValue(workers)!)
                {
                    var started = clock.Elapsed;
                    var outcome = await StressRunner.RepeatAsync(run, result.GetValue(runs), w, Deadline, cancellationToken: ct).ConfigureAwait(false);
                    (total, hangs, wrong) = (total + outcome.Ran, hangs + outcome.Hung, wrong + outcome.Failed);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-48} workers {w}: {outcome.Ran} runs, {outcome.Hung} hangs, {outcome.Failed} wrong outcomes, {(clock.Elapsed - started).TotalSeconds:F1} s"));
                    if (outcome.FirstError is { } error)
                    {
                        await Console.Error.WriteLineAsync(error.ToString()).ConfigureAwait(false);
                    }
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{total} runs in {clock.Elapsed.TotalMinutes:F1} min: {hangs} hangs, {wrong} wrong outcomes"));
            return hangs == 0 && wrong == 0 ? 0 : 1;
        });
        return command;
    }
}
