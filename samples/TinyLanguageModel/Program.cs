using System.Diagnostics;
using System.Globalization;
using System.Text;
using StreamingLoader.Batching;
using StreamingLoader.Datasets;
using StreamingLoader.TorchSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace StreamingLoader.Samples.TinyLanguageModel;

/// <summary>
/// A tiny causal transformer trained on Debian's fortunes: every fortune's UTF-8 bytes (a byte-level vocabulary of 256
/// and an end-of-text id, as nanoGPT's character models) packed by the loader into rows of 128 tokens with
/// <see cref="Collate.Packed{T}"/> (no padding but the epoch's last row; positions and document ids per row, which the
/// model uses for block-diagonal causal attention). Trains for a few minutes, then prints a short generation.
/// </summary>
public static class Program
{
    /// <summary>The end-of-text id, after the 256 byte values.</summary>
    public const int EndOfText = 256;

    public static async Task<int> Main(string[] args)
    {
        if (SampleCommandLine.ParseOrExit(() => TinyLanguageModelOptions.Parse(args), o => o.Help, TinyLanguageModelOptions.Usage, out var options) is { } exit)
        {
            return exit;
        }

        try
        {
            await using var metrics = await options.Metrics.StartAsync("TinyLanguageModel", Console.Out);
            await RunAsync(options, Console.Out);
        }
        catch (IOException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 1;
        }

        return 0;
    }

    /// <summary>Packs the corpus, trains until the time or step budget is spent, and generates from the prompt.</summary>
    public static async Task<TinyLanguageModelResult> RunAsync(TinyLanguageModelOptions options, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        TorchThreads.ApplyDefaults(options.Threads);

        var corpus = FortunesCorpus.Load(options.Root);
        var documents = corpus.Fortunes.Select(f => Encoding.UTF8.GetBytes(f.Text).Select(b => (int)b).ToArray()).ToArray();
        var tokens = documents.Sum(d => d.Length + 1L);
        output.WriteLine(Invariant($"{documents.Length:N0} fortunes, {tokens:N0} byte tokens with end-of-text, packed into rows of {options.Context} ({tokens / options.Context:N0} rows an epoch)"));

        var packing = new SequencePacking { Length = options.Context, EndOfText = EndOfText };
        await using var loader = Pipeline.From(Dataset.FromFunc(documents.Length, i => documents[i]))
            .Build(Collate.Packed<int[]>(d => d, packing), new LoaderOptions { BatchSize = options.BatchSize, Shuffle = true, Seed = options.Seed, Workers = options.Workers, Name = "fortunes-lm" });

        torch.manual_seed((long)options.Seed);
        using var model = new TinyTransformer(EndOfText + 1, options.Context, options.Dimensions, options.Heads, options.Layers);
        using var criterion = nn.CrossEntropyLoss(ignore_index: -100);
        using var optimizer = optim.AdamW(model.parameters(), options.LearningRate, weight_decay: 0.01);
        output.WriteLine(Invariant($"Model: {options.Layers} blocks, {options.Dimensions} dimensions, {options.Heads} heads ({model.parameters().Sum(p => p.numel()):N0} parameters); AdamW lr {options.LearningRate}; {options.BatchSize} rows a batch"));

        var losses = new List<double>();
        var budget = options.Steps is { } steps ? $"{steps} steps" : Invariant($"{options.Minutes} minutes");
        output.WriteLine($"Training for {budget}");
        var clock = Stopwatch.StartNew();
        bool Done() => options.Steps is { } limit ? losses.Count >= limit : clock.Elapsed.TotalMinutes >= options.Minutes;
        model.train();
        for (var epoch = 0; !Done(); epoch++)
        {
            await foreach (var batch in loader.ReadEpochAsync(cancellationToken))
            {
                using (batch)
                using (NewDisposeScope())
                {
                    var t = batch.AsTensors();
                    var (ids, length) = (t[packing.InputIdsName], options.Context - 1);
                    var logits = model.forward(ids.narrow(1, 0, length), t[packing.PositionIdsName].narrow(1, 0, length), t[packing.DocumentIdsName].narrow(1, 0, length));
                    // Each token predicts the next; the epoch's last row's padding predicts nothing.
                    var targets = ids.narrow(1, 1, length).masked_fill(t[packing.MaskName].narrow(1, 1, length).eq(0), -100);
                    var loss = criterion.forward(logits.reshape(-1, EndOfText + 1), targets.reshape(-1));
                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();
                    losses.Add(loss.item<float>());
                }

                if (losses.Count % options.LogEvery == 0)
                {
                    output.WriteLine(Invariant($"step {losses.Count,5} (epoch {epoch + 1}): loss {losses.TakeLast(options.LogEvery).Average():F3} ({clock.Elapsed.TotalSeconds:F0} s)"));
                }

                if (Done())
                {
                    break;
                }
            }
        }

        var window = Math.Max(1, Math.Min(10, losses.Count / 4));
        var (initial, final) = (losses.Take(window).Average(), losses.TakeLast(window).Average());
        output.WriteLine(Invariant($"Loss {initial:F3} over the first {window} steps, {final:F3} over the last {window} ({losses.Count} steps, {clock.Elapsed.TotalSeconds:F0} s; a uniform guess over 257 ids is {Math.Log(EndOfText + 1):F3})"));
        var generated = Generate(model, options);
        output.WriteLine($"Generated from \"{options.Prompt}\":");
        output.WriteLine(generated);
        return new TinyLanguageModelResult(initial, final, losses.Count, generated);
    }

    /// <summary>Samples bytes one at a time (temperature 0.8) until end-of-text or the length asked for.</summary>
    private static string Generate(TinyTransformer model, TinyLanguageModelOptions options)
    {
        model.eval();
        using var noGrad = torch.no_grad();
        torch.manual_seed((long)options.Seed);
        var context = Encoding.UTF8.GetBytes(options.Prompt).Select(b => (long)b).ToList();
        var prompt = context.Count;
        while (context.Count - prompt < options.GenerateBytes)
        {
            using var scope = NewDisposeScope();
            var window = context.TakeLast(options.Context - 1).ToArray();
            var ids = tensor(window).unsqueeze(0);
            var logits = model.forward(ids, arange(window.Length, dtype: ScalarType.Int64).unsqueeze(0), zeros_like(ids));
            var next = logits[0, -1].div(0.8).softmax(0).multinomial(1).item<long>();
            if (next == EndOfText)
            {
                break;
            }

            context.Add(next);
        }

        return Encoding.UTF8.GetString([.. context.Select(b => (byte)b)]);
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>What a run measured.</summary>
/// <param name="InitialLoss">The mean loss of the first steps.</param>
/// <param name="FinalLoss">The mean loss of as many last steps.</param>
/// <param name="Steps">The steps trained.</param>
/// <param name="Generated">The prompt and what the model wrote after it.</param>
public sealed record TinyLanguageModelResult(double InitialLoss, double FinalLoss, int Steps, string Generated);
