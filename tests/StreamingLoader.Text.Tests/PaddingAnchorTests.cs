using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using StreamingLoader.Batching;
using StreamingLoader.Sources;

namespace StreamingLoader.Text.Tests;

/// <summary>
/// The padded <c>input_ids</c> and <c>attention_mask</c> of <c>Collate.Fields&lt;TokenizedText&gt;()</c>, compared exactly
/// with <c>torch.nn.utils.rnn.pad_sequence(batch_first=True, padding_value=50256)</c> (Debian's python3-torch) and with
/// Hugging Face's <c>DataCollatorWithPadding</c> (its rule written in pad_reference.py as its source has it), on the GPT-2
/// ids of 800 whole fortunes, batch by batch as the loader made them: padding to the longest, to a multiple of 8, on the
/// left, to a fixed maximum, with truncation on either side.
/// </summary>
public sealed class PaddingAnchorTests(PaddingAnchorTests.Anchors anchors) : IClassFixture<PaddingAnchorTests.Anchors>
{
    /// <summary>Each case: our padding, and the same configuration in Hugging Face's words.</summary>
    public static readonly IReadOnlyDictionary<string, (SequencePadding Padding, object Hf)> Cases = new Dictionary<string, (SequencePadding, object)>
    {
        ["longest"] = (new SequencePadding(), Hf("longest")),
        ["longest, multiple of 8"] = (new SequencePadding { MultipleOf = 8 }, Hf("longest", multiple: 8)),
        ["longest, left"] = (new SequencePadding { Side = PaddingSide.Left }, Hf("longest", side: "left")),
        ["truncated right to 64"] = (new SequencePadding { MaxLength = 64, Truncation = Truncation.Right }, Hf("longest", maxLength: 64, truncation: "right")),
        ["truncated left to 64, left, multiple of 8"] =
            (new SequencePadding { MaxLength = 64, Truncation = Truncation.Left, Side = PaddingSide.Left, MultipleOf = 8 }, Hf("longest", maxLength: 64, truncation: "left", multiple: 8, side: "left")),
        ["max length 96, truncated right"] = (new SequencePadding { PadTo = PadTo.MaxLength, MaxLength = 96, Truncation = Truncation.Right }, Hf("max_length", maxLength: 96, truncation: "right")),
        ["truncated right to 100, multiple of 8"] = (new SequencePadding { MaxLength = 100, Truncation = Truncation.Right, MultipleOf = 8 }, Hf("longest", maxLength: 100, truncation: "right", multiple: 8)),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Fields_Padding_EqualsHuggingFaceDataCollatorWithPadding(string name)
    {
        var ours = anchors.Batches[name];
        var hf = anchors.Reference(name)["hf"]!.AsArray();
        Assert.Equal(hf.Count, ours.Count);
        for (var b = 0; b < ours.Count; b++)
        {
            Assert.Equal(Rows(hf[b]!["ids"]!), ours[b].Ids);
            Assert.Equal(Rows(hf[b]!["mask"]!), ours[b].Mask);
        }
    }

    [Theory]
    [InlineData("longest")]
    [InlineData("truncated right to 64")]
    public void Fields_RightPaddingToLongest_EqualsTorchPadSequence(string name)
    {
        var ours = anchors.Batches[name];
        var torch = anchors.Reference(name)["torch"]!.AsArray();
        Assert.Equal(torch.Count, ours.Count);
        for (var b = 0; b < ours.Count; b++)
        {
            Assert.Equal(Rows(torch[b]!["ids"]!), ours[b].Ids);
            Assert.Equal(Rows(torch[b]!["mask"]!), ours[b].Mask);
        }
    }

    [Fact]
    public void Corpus_CoversTheCases()
    {
        // Padded everywhere, cut somewhere, and rounded past a maximum that is not a multiple of 8 (100 → 104).
        Assert.Contains(anchors.Batches["truncated right to 64"], b => b.Ids.Any(r => !r.Contains(PaddedRows.PadId)) && b.Ids[0].Length == 64);
        Assert.Contains(anchors.Batches["truncated right to 100, multiple of 8"], b => b.Ids[0].Length == 104);
        Assert.All(anchors.Batches["longest, multiple of 8"], b => Assert.Equal(0, b.Ids[0].Length % 8));
        Assert.StartsWith("1.13", anchors.TorchVersion, StringComparison.Ordinal);
    }

    private static object Hf(string padding, int? maxLength = null, string? truncation = null, int? multiple = null, string side = "right") => new
    {
        padding,
        max_length = maxLength,
        truncation = truncation is not null,
        truncation_side = truncation ?? "right",
        pad_to_multiple_of = multiple,
        padding_side = side,
    };

    private static long[][] Rows(JsonNode rows) => [.. rows.AsArray().Select(r => r!.AsArray().Select(v => (long)v!).ToArray())];

    /// <summary>The batches of every case, read through the loader, and pad_reference.py's output on the same batches.</summary>
    public sealed class Anchors : IDisposable
    {
        private readonly TempFiles _files = new();
        private readonly JsonNode _reference;

        public Anchors()
        {
            var fortunes = FortunesCorpus.Files().SelectMany(f => FortunesCorpus.Fortunes(f.Bytes).Take(40)).Take(800).ToList();
            var path = _files.Write("fortunes.jsonl", string.Concat(fortunes.Select(f => JsonSerializer.Serialize(new { text = Encoding.UTF8.GetString(f) }) + "\n")));
            var gpt2 = TextTokenizer.Gpt2();
            var docs = fortunes.Select(f =>
            {
                using var text = gpt2.Encode(Encoding.UTF8.GetString(f));
                return text.Ids.ToArray();
            }).ToList();

            var cases = new JsonArray();
            foreach (var (name, (padding, hf)) in Cases)
            {
                var (batches, indices) = Read(path, padding).GetAwaiter().GetResult();
                Batches[name] = batches;
                var json = JsonSerializer.SerializeToNode(hf)!.AsObject();
                json["name"] = name;
                json["batches"] = JsonSerializer.SerializeToNode(indices);
                cases.Add(json);
            }

            var input = _files.Write("input.json", new JsonObject { ["docs"] = JsonSerializer.SerializeToNode(docs), ["pad"] = PaddedRows.PadId, ["cases"] = cases }.ToJsonString());
            var output = Path.Combine(_files.Root, "output.json");
            using var python = Process.Start(new ProcessStartInfo("/usr/bin/python3", [Path.Combine(AppContext.BaseDirectory, "pad_reference.py"), input, output]) { RedirectStandardError = true })!;
            var stderr = python.StandardError.ReadToEnd();
            python.WaitForExit();
            Assert.True(python.ExitCode == 0, $"pad_reference.py failed ({python.ExitCode}); it needs Debian's python3-torch (scripts/test.sh installs it): {stderr}");
            _reference = JsonNode.Parse(File.ReadAllText(output))!;
            TorchVersion = (string)_reference["torch_version"]!;
        }

        public Dictionary<string, List<(long[][] Ids, long[][] Mask)>> Batches { get; } = [];

        public string TorchVersion { get; }

        public JsonNode Reference(string name) => _reference["cases"]![name]!;

        public void Dispose() => _files.Dispose();

        private static async Task<(List<(long[][], long[][])> Batches, List<long[]> Indices)> Read(string path, SequencePadding padding)
        {
            var collator = Collate.Fields<TokenizedText>()
                .Sequence("input_ids", t => t.Ids, padding, padValue: PaddedRows.PadId, maskName: "attention_mask", elementType: ElementType.Int64);
            await using var loader = Pipeline.From(JsonLines.Read(path))
                .Transform(Tokenize.JsonField(TextTokenizer.Gpt2(), "text"))
                .Build(collator, new LoaderOptions { BatchSize = 16, Workers = 2, ShuffleBufferSize = 128, Seed = 3 });
            var batches = new List<(long[][], long[][])>();
            var indices = new List<long[]>();
            await foreach (var batch in loader.ReadEpochAsync())
            {
                using (batch)
                {
                    var ids = batch["input_ids"];
                    var mask = batch["attention_mask"];
                    batches.Add(([.. Enumerable.Range(0, batch.Count).Select(s => ids.Sample<long>(s).ToArray())], [.. Enumerable.Range(0, batch.Count).Select(s => mask.Sample<long>(s).ToArray())]));
                    indices.Add(batch.SampleIndices.ToArray());
                }
            }

            return (batches, indices);
        }
    }
}
