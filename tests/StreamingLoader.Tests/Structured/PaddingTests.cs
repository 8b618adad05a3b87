using StreamingLoader.Batching;
using StreamingLoader.Datasets;

namespace StreamingLoader.Tests.Structured;

public class PaddingTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public async Task Sequence_PadsEachBatchToItsLongest_WithMaskLengthsAndPadValue(int workers)
    {
        var documents = Document.Many(200, Document.Spread(1, 40));
        await using var loader = Pipeline.From(Dataset.FromFunc(documents.Length, i => documents[i]))
            .Build(Document.Collator(), new LoaderOptions { BatchSize = 16, Workers = workers, Shuffle = true, Seed = 3 });
        var seen = 0;
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                var longest = batch.SampleIndices.ToArray().Max(i => documents[i].Tokens.Length);
                Assert.Equal([batch.Count, longest], batch["input_ids"].Shape.ToArray());
                Assert.Equal([batch.Count, longest], batch["attention_mask"].Shape.ToArray());
                Assert.Equal([batch.Count], batch["lengths"].Shape.ToArray());
                for (var s = 0; s < batch.Count; s++)
                {
                    var document = documents[batch.SampleIndices[s]];
                    var row = batch["input_ids"].Sample<long>(s);
                    var mask = batch["attention_mask"].Sample<long>(s);
                    for (var j = 0; j < longest; j++)
                    {
                        var data = j < document.Tokens.Length;
                        Assert.Equal(data ? document.Tokens[j] : -1, row[j]);
                        Assert.Equal(data ? 1 : 0, mask[j]);
                    }

                    Assert.Equal(document.Tokens.Length, batch["lengths"].AsSpan<long>()[s]);
                    Assert.Equal(document.Label, batch["labels"].AsSpan<long>()[s]);
                    seen++;
                }
            }
        }

        Assert.Equal(documents.Length, seen);
    }

    [Fact]
    public async Task Padding_LeftSideMultipleOfEightAndTruncation_AsHuggingFace()
    {
        var documents = Document.Many(64, Document.Spread(1, 30));
        var padding = new SequencePadding { Side = PaddingSide.Left, MultipleOf = 8, MaxLength = 20, Truncation = Truncation.Left };
        await using var loader = Pipeline.From(Dataset.FromFunc(documents.Length, i => documents[i]))
            .Build(Document.Collator(padding), new LoaderOptions { BatchSize = 8, Workers = 2 });
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                var kept = batch.SampleIndices.ToArray().Select(i => Math.Min(documents[i].Tokens.Length, 20)).ToArray();

                // Rounded up to a multiple of 8, past the maximum of 20 as Hugging Face's _pad rounds max_length.
                var expected = (kept.Max() + 7) / 8 * 8;
                Assert.Equal(expected, batch["input_ids"].Shape[1]);
                foreach (var (id, row) in Document.Rows(batch))
                {
                    // Left truncation keeps the last tokens.
                    Assert.Equal(documents[id].Tokens.TakeLast(20).Select(t => (long)t), row);
                }

                for (var s = 0; s < batch.Count; s++)
                {
                    var mask = batch["attention_mask"].Sample<long>(s);
                    var pad = expected - kept[s];
                    Assert.All(mask[..pad].ToArray(), m => Assert.Equal(0, m));
                    Assert.All(mask[pad..].ToArray(), m => Assert.Equal(1, m));
                    Assert.All(batch["input_ids"].Sample<long>(s)[..pad].ToArray(), t => Assert.Equal(-1, t));
                }
            }
        }
    }

    [Fact]
    public async Task Padding_PadToMaxLength_EveryBatchHasTheSameShape()
    {
        var documents = Document.Many(50, Document.Spread(1, 9));
        var padding = new SequencePadding { PadTo = PadTo.MaxLength, MaxLength = 12 };
        await using var loader = Pipeline.From(Dataset.FromFunc(documents.Length, i => documents[i]))
            .Build(Document.Collator(padding), new LoaderOptions { BatchSize = 10, Workers = 2 });
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                Assert.Equal([10, 12], batch["input_ids"].Shape.ToArray());
                foreach (var (id, row) in Document.Rows(batch))
                {
                    Assert.Equal(documents[id].Tokens.Select(t => (long)t), row);
                }
            }
        }
    }

    [Theory]
    [InlineData(ErrorPolicy.Fail)]
    [InlineData(ErrorPolicy.Skip)]
    public async Task Sequence_LongerThanMaximumUnderReject_NamesTheSampleFieldAndLimit(ErrorPolicy policy)
    {
        var documents = Document.Many(40, i => i == 13 ? 50 : 5);
        await using var loader = Pipeline.From(Dataset.FromFunc(documents.Length, i => documents[i]))
            .Build(Document.Collator(new SequencePadding { MaxLength = 32 }), new LoaderOptions { BatchSize = 8, Workers = 2, ErrorPolicy = policy });
        if (policy == ErrorPolicy.Fail)
        {
            var error = await Assert.ThrowsAsync<DataLoaderException>(() => TestData.ReadEpochLabelsAsync(loader));
            Assert.Equal(13, error.SampleIndex);
            Assert.Contains("'input_ids' has 50 steps, more than its maximum of 32", error.Message, StringComparison.Ordinal);
        }
        else
        {
            var labels = await TestData.ReadEpochLabelsAsync(loader);
            Assert.Equal(39, labels.Count);
            var dead = Assert.Single(loader.DeadLetters);
            Assert.Equal(13, dead.SampleIndex);
            Assert.Contains("SequencePadding.MaxLength", dead.Reason, StringComparison.Ordinal);
        }

        var statistics = loader.Statistics[0];
        Assert.Equal(statistics.Read, statistics.Delivered + statistics.Skipped + statistics.Failed + statistics.Dropped + statistics.InFlight);
        Assert.Equal(policy == ErrorPolicy.Skip ? 1 : 0, statistics.Skipped);
    }

    [Fact]
    public async Task Fields_ImageSequenceOfBoxesAndLabel_EachTensorItsOwnShape()
    {
        // A detection-like sample: a fixed 2×3 "image", a variable number of 4-value boxes, a label.
        var samples = Enumerable.Range(0, 30).Select(i => (Image: Enumerable.Range(0, 6).Select(j => (float)((i * 10) + j)).ToArray(),
            Boxes: Enumerable.Range(0, 4 * (i % 5)).Select(j => (float)((i * 100) + j)).ToArray(), Label: (long)i)).ToArray();
        var collator = Collate.Fields<(float[] Image, float[] Boxes, long Label)>()
            .Tensor(new TensorSpec("image", ElementType.Float32, [2, 3]), s => s.Image)
            .Tensor(new TensorSpec("boxes", ElementType.Float32, [TensorSpec.Variable, 4]) { PadValue = float.NaN, LengthsName = "box_count" }, s => s.Boxes)
            .Scalar("labels", s => s.Label);
        await using var loader = Pipeline.From(Dataset.FromFunc(samples.Length, i => samples[i])).Build(collator, new LoaderOptions { BatchSize = 7, Workers = 3 });
        var seen = 0;
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                Assert.Equal(["image", "boxes", "labels", "box_count"], batch.Tensors.Select(t => t.Name));
                var most = (int)batch.SampleIndices.ToArray().Max(i => i % 5);
                Assert.Equal(new[] { batch.Count, Math.Max(most, 1), 4 }, batch["boxes"].Shape.ToArray());
                Assert.Equal([batch.Count, 2, 3], batch["image"].Shape.ToArray());
                for (var s = 0; s < batch.Count; s++)
                {
                    var sample = samples[batch.SampleIndices[s]];
                    Assert.Equal(sample.Image, batch["image"].Sample<float>(s).ToArray());
                    var boxes = batch["boxes"].Sample<float>(s);
                    Assert.Equal(sample.Boxes, boxes[..sample.Boxes.Length].ToArray());
                    Assert.All(boxes[sample.Boxes.Length..].ToArray(), v => Assert.True(float.IsNaN(v)));
                    Assert.Equal(sample.Boxes.Length / 4, batch["box_count"].AsSpan<long>()[s]);
                    seen++;
                }
            }
        }

        Assert.Equal(samples.Length, seen);
    }

    [Fact]
    public async Task Fields_WrongFixedLengthOrPartialStep_RejectedWithTheFieldName()
    {
        var samples = new[] { new float[6], new float[5], new float[6] };
        var fixedShape = Collate.Fields<float[]>().Tensor(new TensorSpec("image", ElementType.Float32, [2, 3]), s => s);
        await using (var loader = Pipeline.From(Dataset.FromFunc(3, i => samples[i])).Build(fixedShape, new LoaderOptions { BatchSize = 3, ErrorPolicy = ErrorPolicy.Skip }))
        {
            await foreach (var batch in loader.ReadEpochAsync())
            {
                batch.Dispose();
            }

            Assert.Contains("Field 'image' has 5 elements; its shape [2, 3] needs 6", Assert.Single(loader.DeadLetters).Reason, StringComparison.Ordinal);
        }

        var steps = Collate.Fields<float[]>().Tensor(new TensorSpec("boxes", ElementType.Float32, [TensorSpec.Variable, 2]), s => s);
        await using (var loader = Pipeline.From(Dataset.FromFunc(3, i => samples[i])).Build(steps, new LoaderOptions { BatchSize = 3, ErrorPolicy = ErrorPolicy.Skip }))
        {
            await foreach (var batch in loader.ReadEpochAsync())
            {
                batch.Dispose();
            }

            Assert.Contains("Field 'boxes': 5 elements are not a whole number of steps", Assert.Single(loader.DeadLetters).Reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Layout_BadSpecs_ClearErrors()
    {
        Assert.Contains("only the first dimension", Assert.Throws<ArgumentOutOfRangeException>(() => new TensorSpec("x", ElementType.Float32, [3, TensorSpec.Variable])).Message, StringComparison.Ordinal);
        Assert.Contains("apply only to a variable-length field", Assert.Throws<ArgumentException>(() => new BatchLayout(new TensorSpec("x", ElementType.Float32, [3]) { MaskName = "m" })).Message, StringComparison.Ordinal);
        Assert.Contains("names tensor 'attention_mask' twice", Assert.Throws<ArgumentException>(() => new BatchLayout(
            new TensorSpec("input_ids", ElementType.Int64, [TensorSpec.Variable]) { MaskName = "attention_mask" },
            new TensorSpec("attention_mask", ElementType.Int64, [3]))).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SequencePadding { MaxLength = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new SequencePadding { Truncation = (Truncation)7 });
    }

    [Fact]
    public async Task Batch_UnknownTensorName_ListsTheTensorsItHas()
    {
        var documents = Document.Many(4, _ => 3);
        await using var loader = Pipeline.From(Dataset.FromFunc(4, i => documents[i])).Build(Document.Collator(), new LoaderOptions { BatchSize = 4 });
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                var error = Assert.Throws<KeyNotFoundException>(() => batch["inputs"]);
                Assert.Contains("'input_ids', 'labels', 'attention_mask', 'lengths'", error.Message, StringComparison.Ordinal);
                Assert.Contains("no tensor 'features'", Assert.Throws<KeyNotFoundException>(() => batch.Features).Message, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task Profiler_VariableLengthBatches_ReportsThePaddingFractionDelivered()
    {
        var documents = Document.Many(300, Document.Spread(1, 50));
        var options = new LoaderOptions { BatchSize = 16, Workers = 2, Name = "padding-profile-" + Guid.NewGuid().ToString("N") };
        using var profiler = Telemetry.PipelineProfiler.Start(options.Name);
        await using var loader = Pipeline.From(Dataset.FromFunc(documents.Length, i => documents[i])).Build(Document.Collator(), options);
        long data = 0, elements = 0;
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                data += batch["lengths"].AsSpan<long>().ToArray().Sum();
                elements += batch["input_ids"].ElementCount;
            }
        }

        var profile = profiler.Snapshot();
        Assert.Equal(data, profile.SequenceSteps);
        Assert.Equal(elements - data, profile.PaddingSteps);
        Assert.Equal((elements - data) / (double)elements, profile.PaddingFraction, 12);
        Assert.Contains($"Padding: {profile.PaddingFraction.ToString("P1", System.Globalization.CultureInfo.InvariantCulture)} of {elements:N0} sequence steps.", profile.ToString(), StringComparison.Ordinal);
    }
}
