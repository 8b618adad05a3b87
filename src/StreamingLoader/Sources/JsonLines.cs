using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace StreamingLoader;

/// <summary>One line of a JSON Lines file: its UTF-8 bytes and where it is.</summary>
[StructLayout(LayoutKind.Auto)]
public readonly struct JsonLine
{
    /// <summary>Creates a line: <paramref name="path"/> and <paramref name="lineNumber"/> name it in error messages.</summary>
    public JsonLine(string path, long lineNumber, ReadOnlyMemory<byte> utf8)
    {
        Path = path;
        LineNumber = lineNumber;
        Utf8 = utf8;
    }

    /// <summary>Gets the file the line is in.</summary>
    public string Path { get; }

    /// <summary>Gets the line's number in the file, from 1.</summary>
    public long LineNumber { get; }

    /// <summary>Gets the line's bytes, without the line break.</summary>
    public ReadOnlyMemory<byte> Utf8 { get; }
}

/// <summary>
/// JSON Lines files (one JSON object per line) as an iterable source: the file is read in large blocks and split
/// into lines on one thread; the lines are parsed in parallel, straight into batch buffers, by
/// <see cref="Collator"/>.
/// </summary>
/// <example>
/// <code>
/// await using var loader = Pipeline.From(JsonLines.Read("samples.jsonl"))
///     .Build(JsonLines.Collator(featuresField: "x", features: 32, labelField: "y"), new LoaderOptions { BatchSize = 256 });
/// </code>
/// </example>
public static class JsonLines
{
    private const int BlockSize = 1 << 16;

    /// <summary>The non-empty lines of <paramref name="path"/>, read anew for each epoch.</summary>
    public static IAsyncEnumerable<JsonLine> Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return ReadAsync(path, CancellationToken.None);
    }

    /// <summary>
    /// Parses lines like <c>{"x":[0.5, -1.25, …],"y":3}</c>: a number array of exactly <paramref name="features"/>
    /// elements becomes Float32 features [features], an integer becomes the Int64 label. Other fields are ignored.
    /// A malformed line fails with its file and line number.
    /// </summary>
    public static Collator<JsonLine> Collator(string featuresField, int features, string labelField)
    {
        ArgumentException.ThrowIfNullOrEmpty(featuresField);
        ArgumentException.ThrowIfNullOrEmpty(labelField);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(features);
        return new JsonLineCollator(featuresField, features, labelField);
    }

    private static async IAsyncEnumerable<JsonLine> ReadAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (stream.ConfigureAwait(false))
        {
            long lineNumber = 0;
            var carry = 0;
            var block = new byte[BlockSize];
            while (true)
            {
                // Each block is new: lines handed out stay valid while later blocks are read.
                var read = await stream.ReadAsync(block.AsMemory(carry), cancellationToken).ConfigureAwait(false);
                var filled = carry + read;
                var start = 0;
                while (true)
                {
                    var newline = block.AsSpan(start, filled - start).IndexOf((byte)'\n');
                    if (newline < 0)
                    {
                        break;
                    }

                    lineNumber++;
                    var length = newline > 0 && block[start + newline - 1] == (byte)'\r' ? newline - 1 : newline;
                    if (length > 0)
                    {
                        yield return new JsonLine(path, lineNumber, block.AsMemory(start, length));
                    }

                    start += newline + 1;
                }

                if (read == 0)
                {
                    if (filled > start)
                    {
                        yield return new JsonLine(path, lineNumber + 1, block.AsMemory(start, filled - start));
                    }

                    yield break;
                }

                // Carry the unfinished line into a fresh block, doubled if one line fills a whole block.
                carry = filled - start;
                var next = new byte[carry * 2 > BlockSize ? carry * 2 : BlockSize];
                block.AsSpan(start, carry).CopyTo(next);
                block = next;
            }
        }
    }

    private sealed class JsonLineCollator(string featuresField, int features, string labelField) : Collator<JsonLine>
    {
        private readonly byte[] _featuresKey = System.Text.Encoding.UTF8.GetBytes(featuresField);
        private readonly byte[] _labelKey = System.Text.Encoding.UTF8.GetBytes(labelField);

        public override BatchLayout GetLayout(JsonLine firstSample) => new(ElementType.Float32, [features], ElementType.Int64, []);

        public override void Write(in JsonLine sample, int slot, Batch batch)
        {
            var x = batch.Features.SlotUnchecked<float>(slot);
            var parser = new JsonLineParser(sample.Utf8.Span);
            var sawFeatures = false;
            var sawLabel = false;
            try
            {
                parser.Expect((byte)'{');
                if (!parser.TryConsume((byte)'}'))
                {
                    do
                    {
                        var key = parser.ReadString();
                        parser.Expect((byte)':');
                        if (key.SequenceEqual(_featuresKey))
                        {
                            parser.ReadFloatArray(x, featuresField);
                            sawFeatures = true;
                        }
                        else if (key.SequenceEqual(_labelKey))
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
            }
            catch (FormatException ex)
            {
                throw new InvalidDataException($"{sample.Path}:{sample.LineNumber}: {ex.Message}", ex);
            }
        }
    }
}
