using System.Collections.Concurrent;

namespace StreamingLoader;

/// <summary>
/// Remembers, for each batch, the <see cref="TailPosition"/> after its last line, so a consumer can save after each
/// batch exactly how far it got. Wrap the collator with <see cref="Track"/>; after consuming a batch, save
/// <see cref="After"/>; pass it back as <c>resumeFrom</c> to <see cref="FileTail.Follow"/> and the next run begins
/// with the first line the saved run had not consumed.
/// </summary>
/// <remarks>
/// Exact when batches arrive in stream order, which is the loader's default (<see cref="LoaderOptions.Ordered"/>
/// true and <see cref="LoaderOptions.ShuffleBufferSize"/> 0): every line up to a batch's last line was in that batch
/// or an earlier one, or was dropped as a dead letter under <see cref="ErrorPolicy.Skip"/>. With a shuffle buffer
/// or unordered delivery, lines still in flight when a position is saved are skipped on resume.
/// </remarks>
public sealed class TailPositions
{
    private readonly ConcurrentDictionary<Batch, LastLine> _lastLines = new(ReferenceEqualityComparer.Instance);

    /// <summary>Returns a collator that writes through <paramref name="collator"/> and records each batch's last line.</summary>
    public Collator<TailLine> Track(Collator<TailLine> collator)
    {
        ArgumentNullException.ThrowIfNull(collator);
        return new TrackingCollator(this, collator);
    }

    /// <summary>
    /// Gets the position after the last line written into <paramref name="batch"/> (call it before disposing the
    /// batch), or null for a batch this tracker did not write.
    /// </summary>
    public TailPosition? After(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.ThrowIfNotLeased();
        return _lastLines.TryGetValue(batch, out var last) && last.File is { } file ? file.PositionAt(last.EndOffset, last.LineNumber) : null;
    }

    /// <summary>The last line written into one pooled batch buffer; one per buffer, reused with it.</summary>
    private sealed class LastLine
    {
        public TailedFile? File { get; set; }

        public long EndOffset { get; set; }

        public long LineNumber { get; set; }
    }

    private sealed class TrackingCollator(TailPositions owner, Collator<TailLine> inner) : Collator<TailLine>
    {
        public override BatchLayout GetLayout(TailLine firstSample) => inner.GetLayout(firstSample);

        public override void Write(in TailLine sample, int slot, Batch batch)
        {
            // Recorded before writing: a line that fails is a dead letter, consumed all the same. Samples arrive in
            // stream order, so the last one recorded is the furthest.
            var last = owner._lastLines.GetOrAdd(batch, static _ => new LastLine());
            last.File = sample.File;
            last.EndOffset = sample.EndOffset;
            last.LineNumber = sample.LineNumber;
            inner.Write(in sample, slot, batch);
        }
    }
}
