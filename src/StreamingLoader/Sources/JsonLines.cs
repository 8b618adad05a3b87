using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace StreamingLoader.Sources;

/// <summary>
/// JSON Lines files (one JSON object per line) as an iterable source: the file is read in large blocks and split
/// into lines on one thread; the lines are parsed in parallel, straight into batch buffers, by
/// <see cref="Collate.Json"/>.
/// </summary>
/// <example>
/// <code>
/// await using var loader = Pipeline.From(JsonLines.Read("samples.jsonl"))
///     .Build(Collate.Json(featuresField: "x", features: 32, labelField: "y"), new LoaderOptions { BatchSize = 256 });
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
    /// <see cref="TextLine"/> whose <see cref="TextLine.ExceedsMaxLength"/> is set, which the collator rejects with its
    /// file and line. Defaults to <see cref="DefaultMaxLineLength"/>.
    /// </param>
    /// <remarks>
    /// A missing file fails the epoch with a <see cref="FileNotFoundException"/> naming it; a file that shrinks while
    /// it is read (truncated) fails it with an <see cref="IOException"/> naming the file and line, rather than
    /// silently ending the epoch early.
    /// </remarks>
    public static IAsyncEnumerable<TextLine> Read(string path, int maxLineLength = DefaultMaxLineLength)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxLineLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxLineLength, Array.MaxLength / 2);
        return ReadAsync(path, maxLineLength, CancellationToken.None);
    }

    private static async IAsyncEnumerable<TextLine> ReadAsync(string path, int maxLineLength, [EnumeratorCancellation] CancellationToken cancellationToken)
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
                        yield return TextLine.Overlong(path, lineNumber, maxLineLength);
                    }
                    else if (length > 0)
                    {
                        yield return new TextLine(path, lineNumber, block.AsMemory(start, length));
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
                        yield return TextLine.Overlong(path, lineNumber + 1, maxLineLength);
                    }
                    else if (last > 0)
                    {
                        yield return new TextLine(path, lineNumber + 1, block.AsMemory(start, last));
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
}
