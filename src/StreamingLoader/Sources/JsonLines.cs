using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace StreamingLoader;

/// <summary>One line of a JSON Lines file: its UTF-8 bytes and where it is.</summary>
[StructLayout(LayoutKind.Auto)]
public readonly struct JsonLine
{
    private readonly int _maxLength;

    /// <summary>Creates a line: <paramref name="path"/> and <paramref name="lineNumber"/> name it in error messages.</summary>
    public JsonLine(string path, long lineNumber, ReadOnlyMemory<byte> utf8)
    {
        Path = path;
        LineNumber = lineNumber;
        Utf8 = utf8;
    }

    private JsonLine(string path, long lineNumber, int maxLength)
    {
        Path = path;
        LineNumber = lineNumber;
        _maxLength = maxLength;
    }

    /// <summary>Gets the file the line is in.</summary>
    public string Path { get; }

    /// <summary>Gets the line's number in the file, from 1.</summary>
    public long LineNumber { get; }

    /// <summary>Gets the line's bytes, without the line break (empty when <see cref="ExceedsMaxLength"/>).</summary>
    public ReadOnlyMemory<byte> Utf8 { get; }

    /// <summary>
    /// Gets whether the line was longer than the reader's maximum: its bytes were skipped, not kept, and a collator
    /// rejects it (a dead letter under <see cref="ErrorPolicy.Skip"/>, an error otherwise).
    /// </summary>
    public bool ExceedsMaxLength => _maxLength > 0;

    /// <summary>A line skipped for being longer than <paramref name="maxLength"/> bytes.</summary>
    internal static JsonLine Overlong(string path, long lineNumber, int maxLength) => new(path, lineNumber, maxLength);

    /// <summary>The error a collator throws for a line that <see cref="ExceedsMaxLength"/>.</summary>
    internal InvalidDataException TooLongError() =>
        new($"{Path}:{LineNumber}: the line is longer than the maximum of {_maxLength} bytes; its bytes were skipped (JsonLines.Read's maxLineLength raises the limit).");
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

    /// <summary>The default <c>maxLineLength</c> of <see cref="Read"/>: 16 MiB.</summary>
    /// <remarks>
    /// A 3×224×224 image written as JSON numbers takes 1.5–3 MB, so 16 MiB leaves room; the reader holds at most
    /// about twice the limit for one line, so a file without line breaks costs 32 MiB, not its size.
    /// </remarks>
    public const int DefaultMaxLineLength = 16 << 20;

    /// <summary>
    /// The non-empty lines of <paramref name="path"/>, read anew for each epoch. A UTF-8 byte-order mark at the start
    /// is skipped; an empty file is an empty epoch.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="maxLineLength">
    /// The longest line, in bytes, that is kept: a longer one is skipped without being buffered and comes as a
    /// <see cref="JsonLine"/> whose <see cref="JsonLine.ExceedsMaxLength"/> is set, which the collator rejects with its
    /// file and line. Defaults to <see cref="DefaultMaxLineLength"/>.
    /// </param>
    /// <remarks>
    /// A missing file fails the epoch with a <see cref="FileNotFoundException"/> naming it; a file that shrinks while
    /// it is read (truncated) fails it with an <see cref="IOException"/> naming the file and line, rather than
    /// silently ending the epoch early.
    /// </remarks>
    public static IAsyncEnumerable<JsonLine> Read(string path, int maxLineLength = DefaultMaxLineLength)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLineLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxLineLength, Array.MaxLength / 2);
        return ReadAsync(path, maxLineLength, CancellationToken.None);
    }

    /// <summary>
    /// Parses lines like <c>{"x":[0.5, -1.25, …],"y":3}</c>: a number array of exactly <paramref name="features"/>
    /// elements becomes Float32 features [features], an integer becomes the Int64 label. Other fields are ignored.
    /// A malformed line fails with its file and line number. Numbers are rounded correctly to float whatever their
    /// length; labels are exact over the whole Int64 range; keys may be escaped (<c>"\u0078"</c> is <c>"x"</c>).
    /// </summary>
    /// <param name="featuresField">The key of the number array.</param>
    /// <param name="features">The array's length.</param>
    /// <param name="labelField">The key of the integer label.</param>
    /// <param name="nonFiniteNumbers">
    /// What to do with <c>NaN</c>, <c>Infinity</c>, <c>-Infinity</c> and features beyond the Float32 range: reject the
    /// line (the default), write them, or write and count them.
    /// </param>
    public static Collator<JsonLine> Collator(string featuresField, int features, string labelField, NonFiniteNumbers nonFiniteNumbers = NonFiniteNumbers.Reject)
    {
        ArgumentException.ThrowIfNullOrEmpty(featuresField);
        ArgumentException.ThrowIfNullOrEmpty(labelField);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(features);
        if (!Enum.IsDefined(nonFiniteNumbers))
        {
            throw new ArgumentOutOfRangeException(nameof(nonFiniteNumbers), nonFiniteNumbers, "Not a NonFiniteNumbers value.");
        }

        return new JsonLineCollator(featuresField, features, labelField, nonFiniteNumbers);
    }

    private static async IAsyncEnumerable<JsonLine> ReadAsync(string path, int maxLineLength, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (stream.ConfigureAwait(false))
        {
            var lengthAtOpen = stream.CanSeek ? stream.Length : -1;
            long total = 0;
            long lineNumber = 0;
            var carry = 0;
            var atStart = true;
            var skipping = false; // inside a line over the limit: its bytes are dropped up to its line break
            var block = new byte[BlockSize];
            while (true)
            {
                // Each block is new: lines handed out stay valid while later blocks are read.
                var read = await stream.ReadAsync(block.AsMemory(carry), cancellationToken).ConfigureAwait(false);
                total += read;
                var filled = carry + read;
                var start = 0;
                if (atStart)
                {
                    if (filled < 3 && read > 0)
                    {
                        carry = filled;
                        continue;
                    }

                    atStart = false;
                    if (block.AsSpan(0, filled).StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
                    {
                        start = 3;
                    }
                }

                while (true)
                {
                    var newline = block.AsSpan(start, filled - start).IndexOf((byte)'\n');
                    if (newline < 0)
                    {
                        break;
                    }

                    lineNumber++;
                    var length = newline > 0 && block[start + newline - 1] == (byte)'\r' ? newline - 1 : newline;
                    if (skipping || length > maxLineLength)
                    {
                        skipping = false;
                        yield return JsonLine.Overlong(path, lineNumber, maxLineLength);
                    }
                    else if (length > 0)
                    {
                        yield return new JsonLine(path, lineNumber, block.AsMemory(start, length));
                    }

                    start += newline + 1;
                }

                if (read == 0)
                {
                    if (total < lengthAtOpen)
                    {
                        throw new IOException(
                            $"'{path}' shrank from {lengthAtOpen} to {total} bytes while it was read (truncated after line {lineNumber}): the rest of the epoch is lost.");
                    }

                    var last = filled > start && block[filled - 1] == (byte)'\r' ? filled - start - 1 : filled - start;
                    if (skipping || last > maxLineLength)
                    {
                        yield return JsonLine.Overlong(path, lineNumber + 1, maxLineLength);
                    }
                    else if (last > 0)
                    {
                        yield return new JsonLine(path, lineNumber + 1, block.AsMemory(start, last));
                    }

                    yield break;
                }

                // Carry the unfinished line into a fresh block, doubled if one line fills a whole block; a line over
                // the limit is dropped instead, so the buffer never grows past about twice the limit.
                carry = filled - start;
                if (skipping || carry > maxLineLength)
                {
                    skipping = true;
                    carry = 0;
                    if (start == 0)
                    {
                        continue; // no line of this block was handed out: reuse it
                    }
                }

                var next = new byte[carry * 2 > BlockSize ? carry * 2 : BlockSize];
                block.AsSpan(start, carry).CopyTo(next);
                block = next;
            }
        }
    }

    private sealed class JsonLineCollator(string featuresField, int features, string labelField, NonFiniteNumbers nonFiniteNumbers) : Collator<JsonLine>
    {
        private readonly byte[] _featuresKey = System.Text.Encoding.UTF8.GetBytes(featuresField);
        private readonly byte[] _labelKey = System.Text.Encoding.UTF8.GetBytes(labelField);

        public override BatchLayout GetLayout(JsonLine firstSample) => new(ElementType.Float32, [features], ElementType.Int64, []);

        public override void Write(in JsonLine sample, int slot, Batch batch)
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
}
