using System.Buffers;
using System.Diagnostics;

namespace StreamingLoader.Internal;

/// <summary>The message between stages: a run of samples (usually one batch's worth) or an epoch's end.</summary>
internal sealed class Chunk<T>
{
    private Chunk(T[] items, long[] indices, int count, long epoch, bool isEpochEnd, DataLoaderException? error = null)
    {
        Items = items;
        Indices = indices;
        Count = count;
        Epoch = epoch;
        IsEpochEnd = isEpochEnd;
        Error = error;
    }

    public T[] Items { get; private set; }

    public long[] Indices { get; private set; }

    public int Count { get; set; }

    public long Epoch { get; }

    /// <summary>
    /// Gets or sets the chunk's place in its epoch: the sampler batch it holds (map-style), or the order it was cut
    /// in (iterable). The consumer's position, and so a resume, is counted in these.
    /// </summary>
    public int Sequence { get; set; }

    /// <summary>Gets or sets when (a <see cref="TimeProvider"/> timestamp) the oldest sample of the chunk was read from the source.</summary>
    public long ReadAt { get; set; }

    /// <summary>
    /// Gets or sets, for packed sequences, how many stream steps of the first item an earlier batch already took (its
    /// tokens, then its end-of-text token): the item continues where that batch stopped.
    /// </summary>
    public int PackOffset { get; set; }

    /// <summary>Gets or sets, for packed sequences, the rows the chunk's stream fills.</summary>
    public int PackedRows { get; set; }

    /// <summary>Gets or sets, for packed sequences, the hold on a first item that an earlier chunk holds too.</summary>
    public SharedSample? SharedFirst { get; set; }

    /// <summary>Gets or sets, for packed sequences, the hold on a last item that a later chunk holds too.</summary>
    public SharedSample? SharedLast { get; set; }

    /// <summary>Gets or sets how many leading items were already disposed (written into a batch) when samples are disposed.</summary>
    public int DisposedUpTo { get; set; }

    /// <summary>Gets or sets the last line of a chunk of <see cref="TextLine"/>s cut from the source in stream order, for <see cref="FileTail.PositionAfter"/>.</summary>
    public TextLine? LastLine { get; set; }

    /// <summary>
    /// Gets or sets the pool buffer reserved for this chunk's batch, if any: it moves to the stage's output chunk
    /// (<see cref="Continue"/>), is taken by the collator, and is released if the chunk is returned without making a batch.
    /// </summary>
    public BufferReservation? Reservation { get; set; }

    /// <summary>Gets the samples of this chunk dropped under the skip policy: published when the chunk is delivered.</summary>
    public List<DeadLetter>? DeadLetters { get; private set; }

    public bool IsEpochEnd { get; }

    /// <summary>Gets the error this chunk carries in place of samples: errors travel in order, like data.</summary>
    public DataLoaderException? Error { get; }

    /// <summary>Gets whether the chunk is a marker (epoch end or error) rather than samples.</summary>
    public bool IsMarker => IsEpochEnd || Error is not null;

    public Span<T> ItemSpan => Items.AsSpan(0, Count);

    public Span<long> IndexSpan => Indices.AsSpan(0, Count);

    public static Chunk<T> Rent(int capacity, long epoch) =>
        new(ArrayPool<T>.Shared.Rent(capacity), ArrayPool<long>.Shared.Rent(capacity), 0, epoch, false);

    /// <summary>An epoch's end; its count is the number of chunks the epoch had, so an unordered consumer can wait for stragglers.</summary>
    public static Chunk<T> EpochEnd(long epoch, int chunks) => new([], [], chunks, epoch, true);

    public static Chunk<T> Failed(DataLoaderException error) => new([], [], 0, error.Epoch, false, error);

    /// <summary>This marker (epoch end or error) as a chunk of another item type, for the next stage.</summary>
    public Chunk<TOut> AsMarker<TOut>()
    {
        Debug.Assert(IsMarker, "Only markers change item type without their items.");
        return new Chunk<TOut>([], [], Count, Epoch, IsEpochEnd, Error);
    }

    /// <summary>Makes room for <paramref name="capacity"/> items, keeping those held (a stream's chunk grows as it fills).</summary>
    public void Grow(int capacity)
    {
        var items = ArrayPool<T>.Shared.Rent(capacity);
        var indices = ArrayPool<long>.Shared.Rent(capacity);
        ItemSpan.CopyTo(items);
        IndexSpan.CopyTo(indices);
        ReturnArrays();
        (Items, Indices) = (items, indices);
    }

    public void AddDeadLetter(DeadLetter deadLetter) => (DeadLetters ??= []).Add(deadLetter);

    /// <summary>Carries <paramref name="from"/>'s place and dead letters over to this chunk (a stage's output).</summary>
    public Chunk<T> Continue<TFrom>(Chunk<TFrom> from)
    {
        Sequence = from.Sequence;
        ReadAt = from.ReadAt;
        LastLine = from.LastLine;
        (Reservation, from.Reservation) = (from.Reservation, null);
        if (from.DeadLetters is { } deadLetters)
        {
            (DeadLetters ??= []).AddRange(deadLetters);
        }

        return this;
    }

    /// <summary>Removes the item at <paramref name="position"/>, keeping order (for skipped samples).</summary>
    public void RemoveAt(int position)
    {
        Items.AsSpan(position + 1, Count - position - 1).CopyTo(Items.AsSpan(position));
        Indices.AsSpan(position + 1, Count - position - 1).CopyTo(Indices.AsSpan(position));
        Count--;
    }

    /// <summary>
    /// Disposes the items still held, from <see cref="DisposedUpTo"/> on (<see cref="SampleDisposal{T}"/>; a shared
    /// packed document only when this is its last holder), and clears them.
    /// </summary>
    public void DisposeItems()
    {
        if (!SampleDisposal<T>.Needed || Items.Length == 0)
        {
            return;
        }

        for (var i = DisposedUpTo; i < Count; i++)
        {
            var share = i == 0 && SharedFirst is not null ? SharedFirst : i == Count - 1 ? SharedLast : null;
            if (share is null || share.Release())
            {
                SampleDisposal<T>.Dispose(ref Items[i]);
            }
            else
            {
                Items[i] = default!;
            }
        }

        (SharedFirst, SharedLast) = (null, null);
        DisposedUpTo = Count;
    }

    /// <summary>
    /// Drops a chunk whose samples will not be written: disposes them (<see cref="DisposeItems"/>), returns the arrays
    /// and releases its buffer reservation (<see cref="Return"/>).
    /// </summary>
    public void Discard()
    {
        DisposeItems();
        Return();
    }

    /// <summary>Returns the chunk's arrays to their pools and releases its buffer reservation if it still holds one: the chunk is done with.</summary>
    public void Return()
    {
        Reservation?.Release();
        ReturnArrays();
    }

    private void ReturnArrays()
    {
        ReturnItems();
        if (Indices.Length > 0)
        {
            ArrayPool<long>.Shared.Return(Indices);
            Indices = [];
        }
    }

    private void ReturnItems()
    {
        if (Items.Length > 0)
        {
            ArrayPool<T>.Shared.Return(Items, System.Runtime.CompilerServices.RuntimeHelpers.IsReferenceOrContainsReferences<T>());
            Items = [];
        }
    }
}
