using System.Diagnostics;
using System.Globalization;
using StreamingLoader.Batching;
using StreamingLoader.Datasets;
using StreamingLoader.Telemetry;
using StreamingLoader.Text;
using StreamingLoader.TorchSharp;
using TorchSharp;
using static TorchSharp.torch;

namespace StreamingLoader.Samples.TextClassification;

/// <summary>
/// Classifies a fortune's category (Debian's <c>fortunes</c>, one file per category) from its text: GPT-2 tokenization
/// on the loader's workers, batches bucketed by length and padded to their longest with an attention mask, an
/// embedding bag in TorchSharp. Prints the padding fraction and the test accuracy against the majority-class baseline.
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (SampleCommandLine.ParseOrExit(() => TextClassificationOptions.Parse(args), o => o.Help, TextClassificationOptions.Usage, out var options) is { } exit)
        {
            return exit;
        }

        try
        {
            await using var metrics = await options.Metrics.StartAsync("TextClassification", Console.Out);
            await RunAsync(options, Console.Out);
        }
        catch (IOException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
            return 1;
        }

        return 0;
    }

    /// <summary>Reads the corpus, trains and evaluates, writing the log to <paramref name="output"/>.</summary>
    public static async Task<TextClassificationResult> RunAsync(TextClassificationOptions options, TextWriter output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        TorchThreads.ApplyDefaults(options.Threads);

        var corpus = FortunesCorpus.Load(options.Root, options.MinPerCategory);
        var shuffled = corpus.Fortunes.ToArray();
        new Random((int)options.Seed).Shuffle(shuffled); // a fifth held out for testing, the same split every run
        var testCount = shuffled.Length / 5;
        var test = shuffled[..testCount];
        var train = shuffled[testCount..];
        var majority = train.GroupBy(f => f.Label).MaxBy(g => g.Count())!.Key;
        var baseline = test.Count(f => f.Label == majority) / (double)test.Length;
        output.WriteLine(Invariant($"{corpus.Fortunes.Count:N0} fortunes in {corpus.Categories.Count} categories from {options.Root}: {train.Length:N0} to train, {test.Length:N0} to test"));
        output.WriteLine(Invariant($"Majority class '{corpus.Categories[majority]}': {baseline:P1} of the test set (the baseline)"));

        // Tokenized on the loader's workers; each Fortune holds pooled ids that the loader returns once it is collated.
        var gpt2 = TextTokenizer.Gpt2(InvalidUtf8.Replace);
        var collator = Collate.Fields<Fortune>()
            .Sequence("input_ids", f => f.Text.Ids, new SequencePadding { MaxLength = options.MaxLength, Truncation = Truncation.Right },
                padValue: gpt2.EndOfTextId, maskName: "attention_mask", elementType: ElementType.Int64)
            .Scalar("labels", f => (long)f.Label);
        // Buckets 4 tokens wide up to 128 (most fortunes are short), 16 wide above: a batch pads at most a few tokens a row.
        int[] boundaries = [.. Enumerable.Range(1, 32).Select(i => 4 * i), .. Enumerable.Range(1, 64).Select(i => 128 + (16 * i))];
        LengthBucketing? Buckets() => options.Bucket ? new LengthBucketing { Boundaries = [.. boundaries.Where(b => b < options.MaxLength)] } : null;
        DataLoader Loader((string Text, int Label)[] fortunes, string name, bool shuffle) =>
            Pipeline.From(Dataset.FromFunc(fortunes.Length, i => fortunes[i]))
                .Transform((f, _) => new Fortune(gpt2.Encode(f.Text.AsSpan()), f.Label))
                .Build(collator, new LoaderOptions { BatchSize = options.BatchSize, Shuffle = shuffle, Seed = options.Seed, Workers = options.Workers, Name = name, Bucketing = Buckets() });
        await using var trainLoader = Loader(train, "fortunes-train", shuffle: true);
        await using var testLoader = Loader(test, "fortunes-test", shuffle: false);

        torch.manual_seed((long)options.Seed);
        using var model = new BagOfEmbeddings(gpt2.EndOfTextId + 1, options.Dimensions, corpus.Categories.Count, options.Dropout);
        using var criterion = nn.CrossEntropyLoss();
        using var optimizer = optim.Adam(model.parameters(), options.LearningRate);
        output.WriteLine(Invariant($"Model: embedding bag {gpt2.EndOfTextId + 1}x{options.Dimensions} (mean over the attention mask) -> Linear({options.Dimensions}, {corpus.Categories.Count}); Adam lr {options.LearningRate}; batches of {options.BatchSize}, bucketing {(options.Bucket ? "on" : "off")}"));

        using var profiler = PipelineProfiler.Start("fortunes-train");
        var losses = new List<double>();
        var accuracy = 0.0;
        var total = Stopwatch.StartNew();
        for (var epoch = 1; epoch <= options.Epochs; epoch++)
        {
            var started = Stopwatch.GetTimestamp();
            model.train();
            var (lossSum, samples) = (0.0, 0L);
            await foreach (var batch in trainLoader.ReadEpochAsync(cancellationToken))
            {
                using (batch)
                using (NewDisposeScope())
                {
                    var tensors = batch.AsTensors();
                    optimizer.zero_grad();
                    var loss = criterion.forward(model.forward(tensors["input_ids"], tensors["attention_mask"]), tensors["labels"]);
                    loss.backward();
                    optimizer.step();
                    lossSum += loss.item<float>() * batch.Count;
                    samples += batch.Count;
                }
            }

            losses.Add(lossSum / samples);
            accuracy = await EvaluateAsync(testLoader, model, cancellationToken);
            output.WriteLine(Invariant($"Epoch {epoch}/{options.Epochs}: train loss {losses[^1]:F4}, test accuracy {accuracy:P1} ({Stopwatch.GetElapsedTime(started).TotalSeconds:F1} s)"));
        }

        var padding = profiler.Snapshot().PaddingFraction;
        output.WriteLine(Invariant($"Padding: {padding:P1} of the training batches' tokens (bucketing {(options.Bucket ? "on" : "off")})"));
        output.WriteLine(Invariant($"Test accuracy {accuracy:P1} against the majority-class baseline of {baseline:P1} ({accuracy / baseline:F1}x), in {total.Elapsed.TotalSeconds:F1} s"));
        return new TextClassificationResult(corpus.Categories.Count, baseline, accuracy, padding, losses);
    }

    private static async Task<double> EvaluateAsync(DataLoader loader, nn.Module<Tensor, Tensor, Tensor> model, CancellationToken cancellationToken)
    {
        model.eval();
        var (correct, samples) = (0L, 0L);
        await foreach (var batch in loader.ReadEpochAsync(cancellationToken))
        {
            // no_grad is per thread: held around the synchronous step only, never across an await.
            using (batch)
            using (torch.no_grad())
            using (NewDisposeScope())
            {
                var tensors = batch.AsTensors();
                var predicted = model.forward(tensors["input_ids"], tensors["attention_mask"]).argmax(1);
                correct += predicted.eq(tensors["labels"]).sum().item<long>();
                samples += batch.Count;
            }
        }

        return correct / (double)samples;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>What a run measured.</summary>
/// <param name="Categories">The number of categories.</param>
/// <param name="MajorityBaseline">The test accuracy of always answering the training set's most common category.</param>
/// <param name="TestAccuracy">The model's test accuracy after the last epoch.</param>
/// <param name="PaddingFraction">The share of the training batches' tokens that was padding.</param>
/// <param name="EpochLosses">The mean training loss of each epoch.</param>
public sealed record TextClassificationResult(int Categories, double MajorityBaseline, double TestAccuracy, double PaddingFraction, IReadOnlyList<double> EpochLosses);
