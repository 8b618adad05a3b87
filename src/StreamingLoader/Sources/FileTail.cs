using System.Runtime.CompilerServices;

namespace StreamingLoader.Sources;

/// <summary>
/// Follows a growing file of lines (JSON Lines, CSV) the way <c>tail -F</c> does, as an iterable source: lines
/// appended are read as they come, a partial last line waits for its line break, a rotation (the file renamed and
/// a new one created under the name) reads the old file to its end, then any file rotated after it that it has not
/// read (<see cref="TailOptions.RotatedNames"/>), then the new one, and a truncation starts the file again from its
/// beginning. Its position is a <see cref="TailPosition"/>: save <see cref="PositionAfter"/> with each checkpoint and
/// pass it back to resume exactly, also after the file was rotated any number of times while the trainer was down.
/// </summary>
/// <example>
/// <code>
/// var tail = new FileTail("events.jsonl", resumeFrom: saved);
/// await using var loader = Pipeline.From(tail).Build(Collate.Json("x", 32, "y"), new LoaderOptions { BatchSize = 256 });
/// await foreach (var batch in loader.ReadBatchesAsync(1000, cancellationToken))
/// {
///     using (batch) { Train(batch); saved = tail.PositionAfter(batch); }
/// }
/// </code>
/// </example>
/// <remarks>
/// A loader over a tail resumes from the tail's position, not from a <see cref="LoaderState"/> (which <c>Build</c>
/// refuses for it). Positions need batches in stream order: the loader's default (<see cref="LoaderOptions.Ordered"/>,
/// no shuffle buffer, no bucketing); every line up to a batch's last line was in that batch or an earlier one, or was
/// a dead letter under <see cref="ErrorPolicy.Skip"/>.
/// </remarks>
public sealed class FileTail : IAsyncEnumerable<TextLine>, Internal.ISelfPositionedSource
{
    private const int BlockSize = 1 << 16;

    /// <summary>
    /// Follows <paramref name="path"/>: its lines now and as they are appended, until canceled (or idle for
    /// <see cref="TailOptions.IdleTimeout"/>). Empty lines are counted, not yielded. The file may not exist yet.
    /// Enumerated again (the loader's next epoch), it goes on after the last line the previous enumeration yielded.
    /// </summary>
    /// <param name="path">The file to follow.</param>
    /// <param name="options">How to follow it; copied.</param>
    /// <param name="resumeFrom">A position from an earlier run: reading goes on with the line after it.</param>
    public FileTail(string path, TailOptions? options = null, TailPosition? resumeFrom = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = path;
        Options = (options ?? new TailOptions()).Clone();
        Next = resumeFrom;
    }

    /// <summary>Gets the path followed.</summary>
    public string Path { get; }

    internal TailOptions Options { get; }

    /// <summary>Gets or sets where the next enumeration starts.</summary>
    internal TailPosition? Next { get; set; }

    string Internal.ISelfPositionedSource.PositionName => $"its {nameof(TailPosition)} ({nameof(FileTail)}.{nameof(PositionAfter)}, passed to new {nameof(FileTail)}(resumeFrom: ...))";

    /// <summary>
    /// Gets the position after the last line of <paramref name="batch"/> (call it before disposing the batch): a
    /// tail built with it resumes with the first line the batch's run had not consumed.
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// The batch did not come from this tail in stream order (a shuffle buffer, bucketing or an unordered loader mix
    /// lines from across the stream, so no position is "after" a batch).
    /// </exception>
    public TailPosition PositionAfter(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.ThrowIfNotLeased();
        if (batch.LastLine is not { File: { } file } line || file.Path != Path)
        {
            throw new InvalidOperationException(
                $"This batch carries no position of the tail of {Path}: positions are kept for batches read from the tail in stream order (LoaderOptions.Ordered, no ShuffleBufferSize, no Bucketing), whatever the transforms and collator.");
        }

        return line.Position!;
    }

    /// <inheritdoc/>
    public IAsyncEnumerator<TextLine> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        FollowAsync(this, cancellationToken).GetAsyncEnumerator(cancellationToken);

    private static async IAsyncEnumerable<TextLine> FollowAsync(FileTail source, [EnumeratorCancellation] CancellationToken cancellationToken)
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
                        yield return new TextLine(cursor.File, cursor.LineNumber, cursor.Offset, block.AsMemory(start, length));
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
                    yield return new TextLine(cursor.File, cursor.LineNumber, cursor.Offset, block.AsMemory(0, carry));
                    block = new byte[BlockSize];
                }

                carry = 0;
                if (!await cursor.OpenNextAsync(IdleExpired, cancellationToken).ConfigureAwait(false))
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

    private sealed class PositionKeeper(FileTail source, TailCursor cursor) : IDisposable
    {
        public void Dispose() => source.Next = cursor.File.PositionAt(cursor.Offset, cursor.LineNumber);
    }
}
