using System.Runtime.CompilerServices;

namespace StreamingLoader;

/// <summary>
/// Follows a growing file of lines (JSON Lines, CSV) the way <c>tail -F</c> does, as an iterable source: lines
/// appended are read as they come, a partial last line waits for its line break, a rotation (the file renamed and
/// a new one created under the name) reads the old file to its end and goes on with the new one, and a truncation
/// starts the file again from its beginning. Each line carries the <see cref="TailPosition"/> after it, so a
/// consumer can resume exactly (see <see cref="TailPositions"/>).
/// </summary>
/// <example>
/// <code>
/// var positions = new TailPositions();
/// await using var loader = Pipeline.From(FileTail.Follow("events.jsonl", resumeFrom: saved))
///     .Build(positions.Track(FileTail.JsonCollator("x", 32, "y")), new LoaderOptions { BatchSize = 256 });
/// await foreach (var batch in loader.ReadEpochAsync(cancellationToken))
/// {
///     using (batch) { Train(batch); saved = positions.After(batch); }
/// }
/// </code>
/// </example>
public static class FileTail
{
    private const int BlockSize = 1 << 16;

    /// <summary>
    /// The lines of <paramref name="path"/>, now and as they are appended, until canceled (or idle for
    /// <see cref="TailOptions.IdleTimeout"/>). Empty lines are counted, not yielded. The file may not exist yet.
    /// Enumerated again (the loader's next epoch), it goes on after the last line the previous enumeration yielded.
    /// </summary>
    /// <param name="path">The file to follow.</param>
    /// <param name="options">How to follow it; copied.</param>
    /// <param name="resumeFrom">A position from an earlier run: reading goes on with the line after it.</param>
    public static IAsyncEnumerable<TailLine> Follow(string path, TailOptions? options = null, TailPosition? resumeFrom = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new TailSource(path, (options ?? new TailOptions()).Clone(), resumeFrom);
    }

    /// <summary>
    /// Parses tailed JSON Lines as <see cref="JsonLines.Collator"/> does: Float32 features [features] and an Int64
    /// label; a malformed line fails with its file and line number (or is a dead letter under
    /// <see cref="ErrorPolicy.Skip"/>).
    /// </summary>
    public static Collator<TailLine> JsonCollator(string featuresField, int features, string labelField) =>
        new JsonTailCollator(JsonLines.Collator(featuresField, features, labelField));

    private static async IAsyncEnumerable<TailLine> FollowAsync(TailSource source, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var options = source.Options;
        var time = options.TimeProvider;
        var lastData = time.GetTimestamp();
        bool IdleExpired() => time.Expired(lastData, options.IdleTimeout);

        using var cursor = new TailCursor(source.Path, options);
        if (!await cursor.StartAsync(source.Next, IdleExpired, cancellationToken).ConfigureAwait(false))
        {
            yield break;
        }

        // However the enumeration ends, the next one starts after the last line yielded.
        using var remember = new PositionKeeper(source, cursor);

        var block = new byte[BlockSize];
        var carry = 0;
        while (true)
        {
            // Checked before every read (a pread of the first bytes and a stat, per block): a file truncated and
            // rewritten since the last read is not read on from the old offset.
            switch (cursor.Draining ? TailCursor.FileState.Same : cursor.Check(cursor.Offset + carry))
            {
                case TailCursor.FileState.Truncated:
                    carry = 0;
                    cursor.Restart();
                    break;
                case TailCursor.FileState.Rotated:
                    // Read what the old file got since the last look, then move on.
                    cursor.Draining = true;
                    break;
            }

            var read = await cursor.Stream.ReadAsync(block.AsMemory(carry), cancellationToken).ConfigureAwait(false);
            if (read > 0)
            {
                lastData = time.GetTimestamp();
                var filled = carry + read;
                cursor.ExtendFingerprint(cursor.Offset + filled);
                var start = 0;
                while (true)
                {
                    var newline = block.AsSpan(start, filled - start).IndexOf((byte)'\n');
                    if (newline < 0)
                    {
                        break;
                    }

                    var length = newline > 0 && block[start + newline - 1] == (byte)'\r' ? newline - 1 : newline;
                    cursor.LineNumber++;
                    cursor.Offset += newline + 1;
                    if (options.HasHeader && cursor.LineNumber == 1)
                    {
                        cursor.File.Header = block.AsSpan(start, length).ToArray();
                    }
                    else if (length > 0)
                    {
                        yield return new TailLine(cursor.File, cursor.LineNumber, cursor.Offset, block.AsMemory(start, length));
                    }

                    start += newline + 1;
                }

                // Lines handed out keep their block: the unfinished line moves to a fresh one, doubled if it fills it.
                carry = filled - start;
                var next = new byte[carry * 2 > BlockSize ? carry * 2 : BlockSize];
                block.AsSpan(start, carry).CopyTo(next);
                block = next;
                continue;
            }

            if (cursor.Draining)
            {
                // A rotated file is complete: its last line needs no line break.
                if (carry > 0 && !(options.HasHeader && cursor.LineNumber == 0))
                {
                    cursor.LineNumber++;
                    cursor.Offset += carry;
                    yield return new TailLine(cursor.File, cursor.LineNumber, cursor.Offset, block.AsMemory(0, carry));
                    block = new byte[BlockSize];
                }

                carry = 0;
                if (!await cursor.OpenPathAsync(IdleExpired, cancellationToken).ConfigureAwait(false))
                {
                    yield break;
                }

                continue;
            }

            if (IdleExpired())
            {
                yield break;
            }

            await Task.Delay(options.PollInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }

    private sealed class TailSource(string path, TailOptions options, TailPosition? resumeFrom) : IAsyncEnumerable<TailLine>
    {
        public string Path => path;

        public TailOptions Options => options;

        public TailPosition? Next { get; set; } = resumeFrom;

        public IAsyncEnumerator<TailLine> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
            FollowAsync(this, cancellationToken).GetAsyncEnumerator(cancellationToken);
    }

    private sealed class PositionKeeper(TailSource source, TailCursor cursor) : IDisposable
    {
        public void Dispose() => source.Next = cursor.File.PositionAt(cursor.Offset, cursor.LineNumber);
    }

    private sealed class JsonTailCollator(Collator<JsonLine> inner) : Collator<TailLine>
    {
        public override BatchLayout GetLayout(TailLine firstSample) => inner.GetLayout(firstSample.AsJsonLine());

        public override void Write(in TailLine sample, int slot, Batch batch) => inner.Write(sample.AsJsonLine(), slot, batch);
    }
}
