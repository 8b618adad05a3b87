namespace StreamingLoader.Internal;

/// <summary>
/// The regrouper of <see cref="Collate.Packed{T}"/>: documents, each followed by an end-of-text token, make one stream
/// that is cut into batches of <c>batch size × row length</c> steps. A document that crosses a cut is in both batches:
/// the second starts at its <see cref="Chunk{T}.PackOffset"/>. The epoch's last batch holds what is left (its last row
/// padded), or is dropped with <see cref="LoaderOptions.DropLast"/>.
/// </summary>
/// <remarks>
/// The epoch's statistics count rows from here on: a batch adds its rows to the samples read and takes away the
/// documents that start in it, so read = delivered + skipped + failed + dropped still holds.
/// </remarks>
internal sealed class SequencePacker<T>(PackingCollator<T> collator, LoaderOptions options, LoaderState start, SampleAccounting accounting)
    : Regrouper<T>(start, accounting)
{
    private readonly long _batchSteps = (long)options.BatchSize * collator.Packing.Length;
    private Chunk<T>? _pending;
    private long _steps;

    protected override void StartEpoch(long epoch)
    {
        DiscardHeldCore();
    }

    protected override void DiscardHeldCore()
    {
        if (_pending is { } pending)
        {
            Drop(pending);
        }

        _pending = null;
        _steps = 0;
    }

    protected override void Add(Chunk<T> input, int position, List<Chunk<T>> output)
    {
        var document = input.Items[position];
        var length = collator.StreamLength(in document);
        var offset = 0;

        // A document that crosses a batch boundary is in several chunks, collated in parallel: the last to let go of
        // it disposes it (only counted when the samples are the loader's to dispose).
        SharedSample? share = null;
        while (true)
        {
            _pending ??= NewChunk(64);
            if (_pending.Count == _pending.Items.Length)
            {
                _pending.Grow(2 * _pending.Count);
            }

            if (_pending.Count == 0)
            {
                _pending.PackOffset = offset;
                _pending.SharedFirst = share;
            }

            _pending.Items[_pending.Count] = document;
            _pending.Indices[_pending.Count++] = input.Indices[position];
            var take = Math.Min(length - offset, _batchSteps - _steps);
            _steps += take;
            offset += (int)take;
            if (_steps < _batchSteps)
            {
                return;
            }

            if (offset < length && DisposesSamples)
            {
                // The document goes on in the next chunk: one more holder.
                if (share is null)
                {
                    share = new SharedSample();
                }

                share.AddHolder();
                _pending.SharedLast = share;
            }

            SendPending(output);
            if (offset == length)
            {
                return;
            }
        }
    }

    protected override void Flush(List<Chunk<T>> output)
    {
        if (_pending is not { } pending || _steps == 0)
        {
            return;
        }

        if (options.DropLast)
        {
            Accounting.Add(Epoch, Tally.Dropped, Starting(pending));
            Drop(pending);
            _pending = null;
            _steps = 0;
            return;
        }

        SendPending(output);
    }

    protected override int Samples(Chunk<T> chunk) => chunk.PackedRows;

    private void SendPending(List<Chunk<T>> output)
    {
        var pending = _pending!;
        pending.PackedRows = (int)((_steps + collator.Packing.Length - 1) / collator.Packing.Length);

        // From here the epoch counts rows: the documents that start in this batch become its rows.
        Accounting.Add(Epoch, Tally.Read, pending.PackedRows - Starting(pending));
        _pending = null;
        _steps = 0;
        Send(pending, output);
    }

    /// <summary>The documents that start in <paramref name="chunk"/>: all but a first one continued from the batch before.</summary>
    private static int Starting(Chunk<T> chunk) => chunk.Count - (chunk.PackOffset > 0 ? 1 : 0);
}
