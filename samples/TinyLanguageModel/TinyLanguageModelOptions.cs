namespace StreamingLoader.Samples.TinyLanguageModel;

/// <summary>Command-line options.</summary>
public sealed record TinyLanguageModelOptions : FortunesSampleOptions
{
    public const string Usage = """
        Usage: TinyLanguageModel [--minutes 3] [--steps N] [--batch-size 16] [--context 128] [--dimensions 128] [--heads 4]
                                 [--layers 2] [--lr 0.002] [--prompt TEXT] [--generate 200] [--log-every 25]
                                 [--workers N] [--threads N] [--seed 0] [--root DIR]
          --minutes X        training time (default 3)
          --steps N          train this many steps instead (a short run: --steps 40)
          --batch-size N     rows per batch (default 16)
          --context N        tokens per packed row (default 128)
          --dimensions N     model width (default 128)
          --heads N          attention heads (default 4)
          --layers N         transformer blocks (default 2)
          --lr X             AdamW's learning rate (default 0.002)
          --prompt TEXT      the start of the generation (default "The ")
          --generate N       bytes to generate at most (default 200)
          --log-every N      print the mean loss every N steps (default 25)
          --workers N        loader threads (default: processor count)
          --threads N        libtorch intra-op threads (default: libtorch's)
          --seed N           seeds the shuffle, the initial weights and the sampling (default 0)
          --root DIR         the fortunes folder (default /usr/share/games/fortunes, Debian's fortunes)
        """ + "\n" + SampleMetrics.Usage;

    public double Minutes { get; init; } = 3;

    public int? Steps { get; init; }

    public int BatchSize { get; init; } = 16;

    public int Context { get; init; } = 128;

    public int Dimensions { get; init; } = 128;

    public int Heads { get; init; } = 4;

    public int Layers { get; init; } = 2;

    public double LearningRate { get; init; } = 2e-3;

    public string Prompt { get; init; } = "The ";

    public int GenerateBytes { get; init; } = 200;

    public int LogEvery { get; init; } = 25;

    public static TinyLanguageModelOptions Parse(IReadOnlyList<string> args)
    {
        var d = new TinyLanguageModelOptions();
        var minutes = SampleCommandLine.Number("--minutes", d.Minutes, "Training time in minutes.");
        var steps = SampleCommandLine.OptionalPositive("--steps", "Train this many steps instead.");
        var batchSize = SampleCommandLine.Positive("--batch-size", d.BatchSize, "Rows per batch.");
        var context = SampleCommandLine.Positive("--context", d.Context, "Tokens per packed row.");
        var dimensions = SampleCommandLine.Positive("--dimensions", d.Dimensions, "Model width.");
        var heads = SampleCommandLine.Positive("--heads", d.Heads, "Attention heads.");
        var layers = SampleCommandLine.Positive("--layers", d.Layers, "Transformer blocks.");
        var lr = SampleCommandLine.Number("--lr", d.LearningRate, "AdamW's learning rate.");
        var prompt = SampleCommandLine.Text("--prompt", d.Prompt, "The start of the generation.");
        var generate = SampleCommandLine.Positive("--generate", d.GenerateBytes, "Bytes to generate at most.");
        var logEvery = SampleCommandLine.Positive("--log-every", d.LogEvery, "Print the mean loss every N steps.");
        var common = new Options("Seeds the shuffle, the weights and the sampling.");
        var command = common.AddTo(new System.CommandLine.RootCommand("TinyLanguageModel") { minutes, steps, batchSize, context, dimensions, heads, layers, lr, prompt, generate, logEvery });
        var result = SampleCommandLine.Parse(command, args, out var help);
        var options = new TinyLanguageModelOptions
        {
            Minutes = result.GetValue(minutes),
            Steps = result.GetValue(steps),
            BatchSize = result.GetValue(batchSize),
            Context = result.GetValue(context),
            Dimensions = result.GetValue(dimensions),
            Heads = result.GetValue(heads),
            Layers = result.GetValue(layers),
            LearningRate = result.GetValue(lr),
            Prompt = result.GetValue(prompt)!,
            GenerateBytes = result.GetValue(generate),
            LogEvery = result.GetValue(logEvery),
        };
        options = common.Read(options, result, help);

        if (options.Minutes <= 0 || options.LearningRate <= 0 || options.Dimensions % options.Heads != 0 || options.Context < 2 || options.Prompt.Length == 0)
        {
            throw new ArgumentException("--minutes and --lr take positive numbers, --dimensions a multiple of --heads, --context at least 2, --prompt some text.");
        }

        return options;
    }
}
