using StreamingLoader.Samples.TextClassification;
using StreamingLoader.Samples.TinyLanguageModel;
using TextClassificationSample = StreamingLoader.Samples.TextClassification.Program;
using TinyLanguageModelSample = StreamingLoader.Samples.TinyLanguageModel.Program;

namespace StreamingLoader.Samples.Tests;

/// <summary>The two text samples, run briefly on Debian's fortunes (scripts/test.sh installs the package).</summary>
public class TextSampleTests
{
    [Fact]
    public async Task TextClassification_TwoEpochs_BeatsTheMajorityBaselineWithLittlePadding()
    {
        var output = new StringWriter();

        var result = await TextClassificationSample.RunAsync(new TextClassificationOptions { Epochs = 2, Workers = 2 }, output);

        // 39 categories of at least 50 fortunes; the largest holds about 8 % of them.
        Assert.True(result.Categories >= 30, output.ToString());
        Assert.True(result.TestAccuracy > 1.5 * result.MajorityBaseline, $"test accuracy {result.TestAccuracy:P1}, majority baseline {result.MajorityBaseline:P1}:\n{output}");
        Assert.True(result.EpochLosses[^1] < result.EpochLosses[0], string.Join(", ", result.EpochLosses));
        Assert.InRange(result.PaddingFraction, 0.001, 0.10);
        Assert.Contains("against the majority-class baseline of", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TextClassification_WithoutBuckets_PadsMore()
    {
        var options = new TextClassificationOptions { Epochs = 1, Workers = 2 };

        var bucketed = await TextClassificationSample.RunAsync(options, TextWriter.Null);
        var unbucketed = await TextClassificationSample.RunAsync(options with { Bucket = false }, TextWriter.Null);

        Assert.True(unbucketed.PaddingFraction > 3 * bucketed.PaddingFraction, $"bucketed {bucketed.PaddingFraction:P1}, unbucketed {unbucketed.PaddingFraction:P1}");
    }

    [Fact]
    public async Task TinyLanguageModel_ShortRun_LossFallsAndItGenerates()
    {
        var output = new StringWriter();

        var result = await TinyLanguageModelSample.RunAsync(TinyLanguageModelOptions.Parse(["--steps", "60", "--workers", "2", "--log-every", "20", "--generate", "60"]), output);

        Assert.Equal(60, result.Steps);
        // A uniform guess over 257 ids costs ln 257 = 5.55; after 60 steps the model has learnt the bytes' frequencies at least.
        Assert.True(result.FinalLoss < result.InitialLoss - 1, $"loss {result.InitialLoss:F3} -> {result.FinalLoss:F3}:\n{output}");
        Assert.StartsWith("The ", result.Generated, StringComparison.Ordinal);
        Assert.True(result.Generated.Length > "The ".Length, output.ToString());
        Assert.Contains("Generated from \"The \":", output.ToString(), StringComparison.Ordinal);
    }
}
