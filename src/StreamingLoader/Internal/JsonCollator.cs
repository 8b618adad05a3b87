namespace StreamingLoader.Internal;

/// <summary>The collator of <see cref="Collate.Json"/>: a JSON object per line, parsed straight into the batch.</summary>
internal sealed class JsonCollator(string featuresField, int features, string labelField, NonFiniteNumbers nonFiniteNumbers) : Collator<TextLine>
{
    private readonly byte[] _featuresKey = System.Text.Encoding.UTF8.GetBytes(featuresField);
    private readonly byte[] _labelKey = System.Text.Encoding.UTF8.GetBytes(labelField);

    public override BatchLayout GetLayout(TextLine firstSample) => new(ElementType.Float32, [features], ElementType.Int64, []);

    public override void Write(in TextLine sample, int slot, Batch batch)
    {
        if (sample.ExceedsMaxLength)
        {
            throw sample.TooLongError();
        }

        var x = batch.Features.SlotUnchecked<float>(slot);
        var parser = new JsonLineParser(sample.Utf8.Span, nonFiniteNumbers);
        var sawFeatures = false;
        var sawLabel = false;
        try
        {
            parser.Expect((byte)'{');
            if (!parser.TryConsume((byte)'}'))
            {
                do
                {
                    var key = parser.ReadString(out var escaped);
                    parser.Expect((byte)':');
                    if (parser.KeyEquals(key, escaped, _featuresKey))
                    {
                        parser.ReadFloatArray(x, featuresField);
                        sawFeatures = true;
                    }
                    else if (parser.KeyEquals(key, escaped, _labelKey))
                    {
                        batch.Labels.SlotUnchecked<long>(slot)[0] = parser.ReadInt64();
                        sawLabel = true;
                    }
                    else
                    {
                        parser.SkipValue();
                    }
                }
                while (parser.TryConsume((byte)','));
                parser.Expect((byte)'}');
            }

            parser.ExpectEnd();
            if (!sawFeatures || !sawLabel)
            {
                throw new FormatException($"the object has no \"{(sawFeatures ? labelField : featuresField)}\" field");
            }

            if (nonFiniteNumbers == NonFiniteNumbers.Count && parser.NonFiniteValues > 0)
            {
                batch.CountNonFinite(parser.NonFiniteValues);
            }
        }
        catch (FormatException ex)
        {
            throw new InvalidDataException($"{sample.Path}:{sample.LineNumber}: {ex.Message}", ex);
        }
    }
}
