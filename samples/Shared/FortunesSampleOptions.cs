using System.CommandLine;

namespace StreamingLoader.Samples;

/// <summary>
/// What both fortunes samples take on their command line: loader threads, libtorch threads, the seed, the corpus
/// folder, the metrics endpoint, and whether help was asked for.
/// </summary>
public abstract record FortunesSampleOptions
{
    public int Workers { get; init; } = Environment.ProcessorCount;

    public int? Threads { get; init; }

    public ulong Seed { get; init; }

    public string Root { get; init; } = FortunesCorpus.DefaultRoot;

    internal SampleMetrics Metrics { get; init; } = SampleMetrics.Default;

    public bool Help { get; init; }

    /// <summary>The command-line options of <see cref="FortunesSampleOptions"/>: added to a command, then read back into a sample's options.</summary>
    internal sealed class Options(string seedDescription)
    {
        private readonly Option<int> _workers = SampleCommandLine.Positive("--workers", Environment.ProcessorCount, "Loader threads.");
        private readonly Option<int?> _threads = SampleCommandLine.OptionalPositive("--threads", "libtorch intra-op threads.");
        private readonly Option<ulong> _seed = SampleCommandLine.Number("--seed", 0UL, seedDescription);
        private readonly Option<string> _root = SampleCommandLine.Text("--root", FortunesCorpus.DefaultRoot, "The fortunes folder.");
        private readonly SampleMetrics.Options _metrics = new();

        /// <summary>Adds the options to <paramref name="command"/> and returns it.</summary>
        public RootCommand AddTo(RootCommand command)
        {
            foreach (var option in (ReadOnlySpan<Option>)[_workers, _threads, _seed, _root])
            {
                command.Options.Add(option);
            }

            return _metrics.AddTo(command);
        }

        /// <summary><paramref name="options"/> with the values of these options from <paramref name="result"/>.</summary>
        public T Read<T>(T options, ParseResult result, bool help)
            where T : FortunesSampleOptions => options with
            {
                Workers = result.GetValue(_workers),
                Threads = result.GetValue(_threads),
                Seed = result.GetValue(_seed),
                Root = result.GetValue(_root)!,
                Metrics = _metrics.Read(result),
                Help = help,
            };
    }
}
