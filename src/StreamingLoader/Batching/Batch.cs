namespace StreamingLoader.Batching;

/// <summary>
/// A batch of samples: named tensors in pooled, pinned memory (<see cref="Tensors"/>, <c>batch["input_ids"]</c>), with
/// the epoch and position it came from.
/// A batch is a lease on its buffer: dispose it when done (<c>using var batch = …</c>) and the buffer goes back to
/// the pool for a later batch.
/// </summary>
/// <remarks>
/// The pool holds <see cref="LoaderOptions.PoolSize"/> buffers, which bounds memory. A consumer that keeps
/// batches without disposing them drains the pool: once every buffer is held by the consumer, asking for the next
/// batch throws <see cref="InvalidOperationException"/> naming the cause instead of waiting forever, and the
/// <c>streamingloader.pool.leases</c> metric shows leases that never come back. Using a batch after disposing it
/// throws <see cref="ObjectDisposedException"/>.
/// </remarks>
public sealed unsafe class Batch : IDisposable
{
    private readonly BatchPool _pool;
    private readonly long[] _indices;
    private readonly BatchTensor[] _tensors;
    private int _leased;
    private List<(Action<object?, bool> Callback, object? State)>? _releaseCallbacks;

    // The lease plus every Retain() not yet released; the buffer goes back to the pool when this reaches 0.
    private int _holds;

    /// <summary>A new lease on <paramref name="buffer"/>: leased, with one hold (the lease's own).</summary>
    internal Batch(BatchPool pool, BatchLayout layout, int capacity, BatchBuffer buffer)
    {
        _pool = pool;
        Layout = layout;
        Capacity = capacity;
        Buffer = buffer;
        _indices = buffer.Indices;
        _holds = 1;
        _leased = 1;
        _tensors = new BatchTensor[layout.Tensors.Count];
        for (var i = 0; i < _tensors.Length; i++)
        {
            _tensors[i] = new BatchTensor(this, layout.Tensors[i], buffer.Data(i), buffer.Capacities[i], buffer.Lengths[i]);
        }
    }

    internal BatchBuffer Buffer { get; }

    /// <summary>Gets every tensor of the batch, in the layout's order.</summary>
    public IReadOnlyList<BatchTensor> Tensors
    {
        get
        {
            ThrowIfNotLeased();
            return _tensors;
        }
    }

    /// <summary>Gets the tensor named <paramref name="name"/> (<c>batch["input_ids"]</c>).</summary>
    /// <exception cref="KeyNotFoundException">The batch has no such tensor; the message lists the ones it has.</exception>
    public BatchTensor this[string name]
    {
        get
        {
            ThrowIfNotLeased();
            var index = Layout.IndexOf(name);
            return index >= 0
                ? _tensors[index]
                : throw new KeyNotFoundException($"The batch has no tensor '{name}'; its tensors are {string.Join(", ", Layout.Tensors.Select(t => "'" + t.Name + "'"))}.");
        }
    }

    /// <summary>
    /// Gets the <c>features</c> tensor of a features/labels batch, shape [Count, ..feature shape]: the tensor the
    /// built-in two-tensor collators write (<see cref="Collate.Tensors{TFeature, TLabel}"/>, JSON Lines, CSV, images).
    /// </summary>
    public BatchTensor Features => this[BatchLayout.FeaturesName];

    /// <summary>Gets the <c>labels</c> tensor of a features/labels batch, shape [Count, ..label shape].</summary>
    public BatchTensor Labels => this[BatchLayout.LabelsName];

    /// <summary>Gets the tensors' names, element types and shapes.</summary>
    public BatchLayout Layout { get; }

    /// <summary>Gets the number of samples in this batch (smaller than the batch size for a last, partial batch).</summary>
    public int Count { get; private set; }

    /// <summary>Gets the number of samples the buffer holds.</summary>
    public int Capacity { get; }

    /// <summary>Gets the epoch this batch belongs to, from 0.</summary>
    public long Epoch { get; private set; }

    /// <summary>Gets this batch's position within its epoch, from 0.</summary>
    public int Index { get; private set; }

    /// <summary>
    /// Gets the dataset index of each sample (map-style datasets) or its position in the stream (iterable sources).
    /// </summary>
    public ReadOnlySpan<long> SampleIndices
    {
        get
        {
            ThrowIfNotLeased();
            return _indices.AsSpan(0, Count);
        }
    }

    /// <summary>Gets the bytes this batch's tensors hold.</summary>
    public long ByteLength
    {
        get
        {
            long bytes = 0;
            foreach (var tensor in _tensors)
            {
                bytes += tensor.ByteLength;
            }

            return bytes;
        }
    }

    internal Span<long> IndexBuffer => _indices;

    /// <summary>The tensor at <paramref name="index"/> of the layout, for the loader's own writes.</summary>
    internal BatchTensor TensorAt(int index) => _tensors[index];

    /// <summary>
    /// Ends the lease: runs the <see cref="BatchLease.OnRelease"/> callbacks and returns the buffer to the pool, or, while a
    /// <see cref="BatchLease.Retain"/> handle is still open, once the last one is disposed. Idempotent.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _leased, 0) == 1)
        {
            try
            {
                RunReleaseCallbacks();
            }
            finally
            {
                ReleaseHold();
            }
        }
    }

    private void RunReleaseCallbacks()
    {
        var callbacks = _releaseCallbacks;
        if (callbacks is null || callbacks.Count == 0)
        {
            return;
        }

        var consumed = HandedOut;
        var pending = callbacks.ToArray();
        callbacks.Clear();
        foreach (var (callback, state) in pending)
        {
            callback(state, consumed);
        }
    }

    /// <summary>See <see cref="BatchLease.OnRelease"/>.</summary>
    internal void OnRelease(Action<object?, bool> callback, object? state)
    {
        ArgumentNullException.ThrowIfNull(callback);
        ThrowIfNotLeased();
        (_releaseCallbacks ??= []).Add((callback, state));
    }

    /// <summary>See <see cref="BatchLease.Retain"/>.</summary>
    internal IDisposable Retain()
    {
        while (true)
        {
            var holds = Volatile.Read(ref _holds);
            if (holds == 0 || Volatile.Read(ref _leased) == 0)
            {
                throw new ObjectDisposedException(nameof(Batch), "This batch was disposed and its buffer returned to the pool.");
            }

            if (Interlocked.CompareExchange(ref _holds, holds + 1, holds) == holds)
            {
                return new Hold(this);
            }
        }
    }

    private void ReleaseHold()
    {
        if (Interlocked.Decrement(ref _holds) == 0)
        {
            _pool.Return(this);
        }
    }

    internal bool IsLeased => Volatile.Read(ref _leased) == 1;

    internal bool HandedOut { get; set; }

    /// <summary>Gets the NaN and infinite values a collator counted into this batch (<see cref="NonFiniteNumbers.Count"/>).</summary>
    internal int NonFiniteValues { get; private set; }

    internal void CountNonFinite(int values) => NonFiniteValues += values;

    /// <summary>Gets or sets the last source line of a batch cut from a stream of lines in order; null otherwise.</summary>
    internal TextLine? LastLine { get; set; }

    /// <summary>Gets or sets the steps of variable-length fields this batch holds as data.</summary>
    internal long SequenceSteps { get; set; }

    /// <summary>Gets or sets the steps of variable-length fields this batch holds as padding.</summary>
    internal long PaddingSteps { get; set; }

    internal void Reset(long epoch, int count)
    {
        Epoch = epoch;
        Index = 0;
        NonFiniteValues = 0;
        SequenceSteps = 0;
        PaddingSteps = 0;
        LastLine = null;
        HandedOut = false;
        SetCount(count);
    }

    internal void SetIndex(int index) => Index = index;

    internal void SetCount(int count)
    {
        Count = count;
        foreach (var tensor in _tensors)
        {
            tensor.SetCount(count);
        }
    }

    internal void ThrowIfNotLeased()
    {
        if (Volatile.Read(ref _leased) == 0)
        {
            throw new ObjectDisposedException(nameof(Batch), "This batch was disposed and its buffer returned to the pool.");
        }
    }

    private sealed class Hold(Batch batch) : IDisposable
    {
        private Batch? _batch = batch;

        public void Dispose() => Interlocked.Exchange(ref _batch, null)?.ReleaseHold();
    }

    /// <inheritdoc/>
    public override string ToString() => $"Batch {Index} of epoch {Epoch}: {Count} samples, {Layout}";
}
