namespace StreamingLoader.Internal;

/// <summary>
/// A sequential stage between the workers that read and transform and the workers that collate, which decides what
/// samples share a batch: tf.data's shuffle buffer, length buckets, sequence packing. Regroupers chain: each hands its
/// chunks to the next, and the last numbers the batches of the epoch and sends them on.
/// </summary>
/// <remarks>
/// Every decision is a function of the samples in source order (the stage before is ordered whatever
/// <see cref="LoaderOptions.Ordered"/>) and of the seed, so a resumed loader replays its epoch from the start through
/// the chain, and the last regrouper drops the batches the state says were delivered (and their dead letters,
/// published before): the rest are exactly the batches the saved run had still to deliver. The replayed samples are
/// not counted as read.
/// </remarks>
internal abstract class Regrouper<T>(LoaderState start, SampleAccounting accounting)
{
    private List<DeadLetter>? _deadLetters;
    private int _emitted;
    private int _sent;

    /// <summary>Gets or sets the regrouper its chunks go to; null for the last.</summary>
    public Regrouper<T>? Next { get; set; }

    /// <summary>
    /// Gets or sets whether the samples are the loader's to dispose (<see cref="SampleDisposal{T}"/>): then those this
    /// stage drops, and those it holds when the loader stops, are disposed.
    /// </summary>
    public bool DisposesSamples { get; set; }

    /// <summary>Gets the epoch of the samples in hand.</summary>
    protected long Epoch { get; private set; } = -1;

    /// <summary>Gets when the epoch's first chunk was read (the age of a mixed batch counts from it: an upper bound).</summary>
    protected long FirstReadAt { get; private set; }

    protected SampleAccounting Accounting => accounting;

    /// <summary>Takes a chunk in and returns the batch-sized chunks the chain lets out.</summary>
    public List<Chunk<T>> Process(Chunk<T> input)
    {
        var output = new List<Chunk<T>>();
        Process(input, output);
        return output;
    }

    /// <summary>Takes a chunk in and adds the batch-sized chunks the chain lets out to <paramref name="output"/>.</summary>
    public void Process(Chunk<T> input, List<Chunk<T>> output)
    {
        if (input.Error is not null)
        {
            output.Add(input);
            return;
        }

        if (input.Epoch != Epoch)
        {
            Epoch = input.Epoch;
            FirstReadAt = input.ReadAt;
            StartEpoch(Epoch);
        }

        if (input.IsEpochEnd)
        {
            Flush(output);
            if (_deadLetters is not null)
            {
                // Samples dropped after the last batch still need a message to be reported with.
                Send(Chunk<T>.Rent(1, Epoch), output);
            }

            if (Next is { } next)
            {
                next.Process(input, output);
            }
            else
            {
                // Regrouping re-chunks, so the epoch's chunk count is the last regrouper's own.
                output.Add(Chunk<T>.EpochEnd(Epoch, _sent));
            }

            _emitted = 0;
            _sent = 0;
            return;
        }

        for (var i = 0; i < input.Count; i++)
        {
            try
            {
                Add(input, i, output);
            }
            catch (DataLoaderException) when (DisposesSamples)
            {
                // A sample failed under the fail policy: the rest of the chunk will not be written.
                SampleDisposal<T>.DisposeAll(input.Items.AsSpan(i + 1, input.Count - i - 1));
                throw;
            }
        }

        if (input.DeadLetters is { } deadLetters)
        {
            (_deadLetters ??= []).AddRange(deadLetters);
        }

        input.Return();
    }

    /// <summary>Drops the samples this stage and the ones after it hold (the loader stopped), disposing them.</summary>
    public void DiscardHeld()
    {
        DiscardHeldCore();
        Next?.DiscardHeld();
    }

    /// <summary>Drops the samples this stage holds, disposing them when they are the loader's.</summary>
    protected abstract void DiscardHeldCore();

    /// <summary>Drops a chunk whose samples will not be written: disposed when they are the loader's, and its arrays returned.</summary>
    protected void Drop(Chunk<T> chunk)
    {
        if (DisposesSamples)
        {
            chunk.DisposeItems();
        }

        chunk.Return();
    }

    /// <summary>Drops one sample that will not be written (rejected): disposed when it is the loader's.</summary>
    protected void Drop(ref T item)
    {
        if (DisposesSamples)
        {
            SampleDisposal<T>.Dispose(ref item);
        }
    }

    /// <summary>Resets the per-epoch state (random draws are keyed on the epoch).</summary>
    protected abstract void StartEpoch(long epoch);

    /// <summary>Takes sample <paramref name="position"/> of <paramref name="input"/>; sends any batch it completes.</summary>
    protected abstract void Add(Chunk<T> input, int position, List<Chunk<T>> output);

    /// <summary>Sends what is held at the end of an epoch.</summary>
    protected abstract void Flush(List<Chunk<T>> output);

    /// <summary>The samples a batch of <paramref name="chunk"/> will count as (rows, for packed sequences).</summary>
    protected virtual int Samples(Chunk<T> chunk) => chunk.Count;

    /// <summary>A chunk for the epoch in hand, dated from its first chunk.</summary>
    protected Chunk<T> NewChunk(int capacity)
    {
        var chunk = Chunk<T>.Rent(capacity, Epoch);
        chunk.ReadAt = FirstReadAt;
        return chunk;
    }

    /// <summary>
    /// Sends a finished chunk: to the next regrouper, or numbered to the collators, unless a resume replays it (then it
    /// is dropped). Dead letters of samples dropped before this stage travel with it.
    /// </summary>
    protected void Send(Chunk<T> chunk, List<Chunk<T>> output)
    {
        if (_deadLetters is { } deadLetters)
        {
            foreach (var deadLetter in deadLetters)
            {
                chunk.AddDeadLetter(deadLetter);
            }

            _deadLetters = null;
        }

        if (Next is { } next)
        {
            next.Process(chunk, output);
            return;
        }

        chunk.Sequence = _emitted++;
        if (Epoch == start.Epoch && start.Delivered(chunk.Sequence))
        {
            accounting.Add(Epoch, Tally.Read, -(Samples(chunk) + (chunk.DeadLetters?.Count ?? 0)));
            Drop(chunk);
            return;
        }

        _sent++;
        output.Add(chunk);
    }
}
