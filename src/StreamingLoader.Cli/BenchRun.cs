using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace StreamingLoader.Cli;

/// <summary>
/// The options every throughput workload of <c>bench</c> shares beyond <c>--workers</c>: <c>--prefetch</c>,
/// <c>--memory-budget-mb</c>, and a timed run (<c>--duration</c>) with a consumer step that may change while it runs
/// (<c>--step-ms</c>, <c>--step-schedule</c>), which prints a timeline of samples/s, workers and prefetch.
/// </summary>
internal sealed class BenchRun
{
    public Option<int> Prefetch { get; } = new("--prefetch")
    {
        Description = "Batches prefetched ahead of the consumer, or auto (tuned while the loader runs). Default: 4, auto with --workers auto.",
        DefaultValueFactory = _ => 4,
        CustomParser = r => ParseAuto(r, "--prefetch", minimum: 1),
    };

    public Option<int> MemoryBudgetMb { get; } = new("--memory-budget-mb") { Description = "Memory budget of the autotuner's batch buffers in MiB (default: a quarter of the machine's memory)." };

    public Option<double> Duration { get; } = new("--duration") { Description = "Run one loader for this many seconds and print a timeline (instead of timed epochs)." };

    public Option<double> WarmUp { get; } = new("--warmup") { Description = "With --duration: seconds of a warm-up loader first (compiles the code; the measured loader starts fresh).", DefaultValueFactory = _ => 1 };

    public Option<double> StepMs { get; } = new("--step-ms") { Description = "A training step per batch that waits this many ms without using the CPU (as a GPU step does)." };

    public Option<string?> StepSchedule { get; } = new("--step-schedule") { Description = "Step changes during a --duration run: SECONDS:MS,... (e.g. 15:8 doubles a 4 ms step at 15 s)." };

    /// <summary>The <c>--workers</c> option of every workload: a number or <c>auto</c>.</summary>
    public static Option<int> WorkersOption() => new("--workers")
    {
        Description = "Worker threads, 0 (each batch loaded when the consumer asks), or auto (tuned while the loader runs). Default: processor count.",
        DefaultValueFactory = _ => Environment.ProcessorCount,
        CustomParser = r => ParseAuto(r, "--workers", minimum: 0),
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Prefetch);
        command.Options.Add(MemoryBudgetMb);
        command.Options.Add(Duration);
        command.Options.Add(WarmUp);
        command.Options.Add(StepMs);
        command.Options.Add(StepSchedule);
    }

    /// <summary>Sets the prefetch and memory budget of <paramref name="options"/>; with fixed workers, makes sure the thread pool can run them all.</summary>
    public LoaderOptions Apply(ParseResult result, LoaderOptions options)
    {
        // With --workers auto and no --prefetch, the prefetch is tuned too.
        options.Prefetch = options.Workers == LoaderOptions.Auto && result.GetResult(Prefetch) is null or { Implicit: true } ? LoaderOptions.Auto : result.GetValue(Prefetch);
        if (result.GetValue(MemoryBudgetMb) is > 0 and var mb)
        {
            options.MemoryBudget = mb * 1024L * 1024L;
        }

        if (options.Workers != LoaderOptions.Auto)
        {
            // A fixed configuration gets the threads its workers may block (reads that wait): the autotuner raises
            // the pool's floor itself, and the grid compares it with the best that each fixed setting can do.
            ThreadPool.GetMinThreads(out var worker, out var io);
            ThreadPool.SetMinThreads(Math.Max(worker, (2 * options.Workers) + 4), io);
        }

        return options;
    }

    /// <summary>Runs the workload as asked: a timed run with <c>--duration</c>, else timed epochs (<see cref="BenchCommand.RunAsync"/>).</summary>
    public async Task RunAsync(ParseResult result, string workload, bool jsonOnly, Func<DataLoader> build, CancellationToken cancellationToken)
    {
        var steps = Schedule(result.GetValue(StepMs), result.GetValue(StepSchedule));
        if (result.GetValue(Duration) is > 0 and var seconds)
        {
            await BenchTimeline.RunAsync(workload, build, TimeSpan.FromSeconds(seconds), TimeSpan.FromSeconds(result.GetValue(WarmUp)), steps, cancellationToken);
            return;
        }

        var figures = await BenchCommand.RunAsync(workload, build, cancellationToken, steps[0].Ms);
        BenchCommand.Report(figures, jsonOnly);
    }

    private static List<(double At, double Ms)> Schedule(double stepMs, string? schedule)
    {
        var steps = new List<(double At, double Ms)> { (0, stepMs) };
        foreach (var part in (schedule ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pair = part.Split(':');
            if (pair.Length != 2 || !double.TryParse(pair[0], CultureInfo.InvariantCulture, out var at) || !double.TryParse(pair[1], CultureInfo.InvariantCulture, out var ms) || at < 0 || ms < 0)
            {
                throw new ArgumentException($"--step-schedule: '{part}' is not SECONDS:MS (for example 15:8).");
            }

            steps.Add((at, ms));
        }

        return [.. steps.OrderBy(s => s.At)];
    }

    private static int ParseAuto(ArgumentResult result, string name, int minimum)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (string.Equals(text, "auto", StringComparison.OrdinalIgnoreCase))
        {
            return LoaderOptions.Auto;
        }

        if (int.TryParse(text, CultureInfo.InvariantCulture, out var value) && value >= minimum)
        {
            return value;
        }

        result.AddError($"{name}: '{text}' is neither a number from {minimum} nor auto.");
        return 0;
    }
}
