namespace StreamingLoader.Internal;

/// <summary>
/// Where the consumer is: the next delivery of the epoch it reads or that epoch's end, with unordered batches of a later
/// epoch that overtook it held aside until their epoch is read. Each chunk the consumer passes publishes its dead letters
/// and moves the <see cref="State"/> past it; each batch handed to the consumer is counted and marked out of the pool.
/// </summary>
internal sealed class ConsumerCursor(LoaderState start, LoaderContext context)
{
    private readonly LoaderContext _context = context;
    private readonly Queue<Delivery> _ahead = new();
    private readonly EpochPosition _position = new(start);
    private PrefetchReader? _reader;
    private LoaderState _state = start;

    /// <summary>Gets the position after the last batch the consumer received (any thread).</summary>
    public LoaderState State => Volatile.Read(ref _state);

    /// <summary>Reads from <paramref name="reader"/> from now on (the pipeline has started).</summary>
    public void Start(PrefetchReader reader) => _reader = reader;

    /// <summary>
    /// The next batch of the epoch in <see cref="State"/>, or its end (then the state moves to the next epoch), or the
    /// end of the source.
    /// </summary>
    public async ValueTask<Delivery> NextAsync(CancellationToken cancellationToken)
    {
        var epoch = State.Epoch;
        while (true)
        {
            if (_context.Ledger.IsReceived(epoch))
            {
                _position.NextEpoch();
                Volatile.Write(ref _state, _position.Apply(Volatile.Read(ref _state) with { Epoch = epoch + 1 }));
                return new Delivery(null, epoch, DeliveryKind.EpochEnd);
            }

            Delivery delivery;
            if (_ahead.Count > 0 && _ahead.Peek().Epoch == epoch)
            {
                delivery = _ahead.Dequeue();
            }
            else
            {
                _context.Demand?.Request();
                delivery = await (_reader ?? throw new InvalidOperationException("The loader has not started.")).ReceiveAsync(cancellationToken).ConfigureAwait(false);
                if (delivery.Kind == DeliveryKind.Completed)
                {
                    return delivery;
                }

                if (delivery.Kind is DeliveryKind.Batch or DeliveryKind.Empty)
                {
                    _context.Demand?.Received();
                }

                if (delivery.Epoch != epoch && delivery.Kind != DeliveryKind.EpochEnd)
                {
                    _ahead.Enqueue(delivery);
                    continue;
                }
            }

            _context.Ledger.RecordReceived(delivery);
            if (delivery.Kind is DeliveryKind.Batch or DeliveryKind.Empty)
            {
                // The consumer passes this chunk: its dead letters become public and the position moves past it.
                _context.Errors.Publish(delivery.Epoch, delivery.DeadLetters);
                _position.Deliver(delivery.Sequence);
                Volatile.Write(ref _state, _position.Apply(Volatile.Read(ref _state)));
                if (delivery.Kind == DeliveryKind.Batch)
                {
                    return delivery;
                }
            }
        }
    }

    /// <summary>Hands a delivered batch to the consumer: its index, ingest lag, lease and counters.</summary>
    public Batch Hand(in Delivery delivery)
    {
        var batch = delivery.Batch!;
        batch.SetIndex(delivery.Sequence);
        if (delivery.ReadAt != 0)
        {
            LoaderMetrics.IngestLag.Record(_context.Time.GetElapsedTime(delivery.ReadAt).TotalSeconds, new KeyValuePair<string, object?>(LoaderMetrics.PipelineTag, _context.Options.Name));
        }

        if (!_context.Options.Ordered)
        {
            // Batches overtake each other: no position is "after" one of them.
            batch.LastLine = null;
        }

        _context.Pool.MarkHandedOut(batch);
        _context.Counters.Accounting.Add(delivery.Epoch, Tally.Delivered, batch.Count);
        _context.Counters.Accounting.Add(delivery.Epoch, Tally.NonFinite, batch.NonFiniteValues);
        Interlocked.Add(ref _context.Counters.Samples, batch.Count);
        Interlocked.Increment(ref _context.Counters.Batches);
        Interlocked.Add(ref _context.Counters.Bytes, batch.ByteLength);
        Interlocked.Add(ref _context.Counters.SequenceSteps, batch.SequenceSteps);
        Interlocked.Add(ref _context.Counters.PaddingSteps, batch.PaddingSteps);
        return batch;
    }

    /// <summary>Returns the batches held aside (the loader stops).</summary>
    public void DisposeAhead()
    {
        while (_ahead.TryDequeue(out var early))
        {
            early.Batch?.Dispose();
        }
    }
}
