using StreamingLoader.Batching;
using StreamingLoader.Sources;

namespace StreamingLoader.Text.Tests;

/// <summary>
/// A document longer than the declared maximum, through a whole loader: under <see cref="Truncation.Reject"/> the
/// loader fails (or, under <see cref="ErrorPolicy.Skip"/>, records a dead letter) with an error that starts with the
/// document's file and line; under <see cref="Truncation.Right"/> or <see cref="Truncation.Left"/> it is cut.
/// </summary>
public sealed class MaxLengthTests : IDisposable
{
    private const int MaxLength = 8;
    private const string Long = "This fortune is far longer than the eight tokens the collator allows for a document.";
    private readonly TempFiles _files = new();

    private static FieldCollator<TokenizedText> Collator(Truncation truncation) =>
        Collate.Fields<TokenizedText>()
            .Sequence("input_ids", t => t.Ids, new SequencePadding { MaxLength = MaxLength, Truncation = truncation }, padValue: PaddedRows.PadId, maskName: "attention_mask", elementType: ElementType.Int64)
            .Scalar("labels", t => t.Label ?? -1);

    private string Corpus() => _files.Write(
        "long.jsonl",
        $"{{\"text\":\"Short one.\",\"label\":0}}\n{{\"text\":\"{Long}\",\"label\":1}}\n{{\"text\":\"Short two.\",\"label\":2}}\n");

    [Fact]
    public async Task TooLongUnderRejectAndFail_LoaderFailsNamingFileLineAndLimit()
    {
        var path = Corpus();
        await using var loader = Pipeline.From(JsonLines.Read(path))
            .Transform(Tokenize.JsonField(TextTokenizer.Gpt2(), "text", "label"))
            .Build(Collator(Truncation.Reject), new LoaderOptions { BatchSize = 3, Workers = 2 });

        var error = await Assert.ThrowsAsync<DataLoaderException>(() => PaddedRows.ReadEpochAsync(loader));

        Assert.Equal(1, error.SampleIndex);
        Assert.Contains($"{path}:2: Field 'input_ids' has {Encoded(Long).Length} steps, more than its maximum of {MaxLength}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TooLongUnderRejectAndSkip_DeadLetterNamesFileAndLineAndStatisticsBalance()
    {
        var path = Corpus();
        await using var loader = Pipeline.From(JsonLines.Read(path))
            .Transform(Tokenize.JsonField(TextTokenizer.Gpt2(), "text", "label"))
            .Build(Collator(Truncation.Reject), new LoaderOptions { BatchSize = 3, Workers = 2, ErrorPolicy = ErrorPolicy.Skip });

        var rows = await PaddedRows.ReadEpochAsync(loader);

        Assert.Equal([0L, 2], rows.Select(r => r.Label));
        var dead = Assert.Single(loader.DeadLetters);
        Assert.Equal((PipelineStage.Collate, 1L), (dead.Stage, dead.SampleIndex));
        Assert.StartsWith($"{path}:2: Field 'input_ids' has", dead.Reason, StringComparison.Ordinal);
        var statistics = loader.Statistics[0];
        Assert.Equal((3L, 2L, 1L, 0L, 0L), (statistics.Read, statistics.Delivered, statistics.Skipped, statistics.Failed, statistics.InFlight));
    }

    [Theory]
    [InlineData(Truncation.Right)]
    [InlineData(Truncation.Left)]
    public async Task TooLongUnderTruncation_CutOnItsSideAndDelivered(Truncation truncation)
    {
        var path = Corpus();
        await using var loader = Pipeline.From(JsonLines.Read(path))
            .Transform(Tokenize.JsonField(TextTokenizer.Gpt2(), "text", "label"))
            .Build(Collator(truncation), new LoaderOptions { BatchSize = 3, Workers = 2, ErrorPolicy = ErrorPolicy.Skip });

        var rows = await PaddedRows.ReadEpochAsync(loader);

        Assert.Equal([0L, 1, 2], rows.Select(r => r.Label));
        var ids = Encoded(Long);
        var kept = truncation == Truncation.Right ? ids[..MaxLength] : ids[^MaxLength..];
        Assert.Equal(kept, rows[1].Row);
        Assert.Empty(loader.DeadLetters);
    }

    private static long[] Encoded(string text)
    {
        using var encoded = TextTokenizer.Gpt2().Encode(text.AsSpan());
        return [.. encoded.Ids.ToArray().Select(id => (long)id)];
    }

    public void Dispose() => _files.Dispose();
}
