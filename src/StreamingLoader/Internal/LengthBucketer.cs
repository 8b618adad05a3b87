namespace StreamingLoader.Internal;

/// <summary>
/// The regrouper of <see cref="LengthBucketing"/>: a bucket per length range, each a chunk that goes out when it reaches
/// its batch size or its token budget; at the epoch's end the partial buckets go out in bucket order (tf.data's
/// <c>group_by_window</c>), or are dropped with <see cref="LoaderOptions.DropLast"/>.
/// </summary>
internal sealed class LengthBucketer<T> : Regrouper<T>
{
    private readonly LengthBucketing _options;
    private readonly Collator<T> _collator;
    private readonly ErrorHandler _errors;
    private readonly int _batchSize;
    private readonly bool _dropLast;
    private readonly Chunk<T>?[] _buckets;
    private readonly int[] _longest;
    private int[] _lengths = [];
    private int _field = -1;
    private readonly BatchPool _pool;

    public LengthBucketer(LengthBucketing options, Collator<T> collator, BatchPool pool, LoaderOptions loader, ErrorHandler errors, LoaderState start, SampleAccounting accounting)
        : base(start, accounting)
    {
        _options = options;
        _collator = collator;
        _errors = errors;
        _batchSize = loader.BatchSize;
        _dropLast = loader.DropLast;
        _buckets = new Chunk<T>?[options.Boundaries.Count + 1];
        _longest = new int[_buckets.Length];
        _pool = pool;
    }

    protected override void StartEpoch(long epoch)
    {
        DiscardHeldCore();
        Array.Clear(_longest);
    }

    protected override void DiscardHeldCore()
    {
        for (var bucket = 0; bucket < _buckets.Length; bucket++)
        {
            if (_buckets[bucket] is { } held)
            {
                Drop(held);
                _buckets[bucket] = null;
            }
        }
    }

    protected override void Add(Chunk<T> input, int position, List<Chunk<T>> output)
    {
        int length;
        try
        {
            EnsureField(input.Items[position]);
            _collator.MeasureLengths(in input.Items[position], _lengths);
            length = _lengths[_field];
        }
        catch (Exception ex) when (ex is not DataLoaderException && _errors.IsSampleError(ex))
        {
            // Under Skip a dead letter on the input chunk, reported with the next batch; under Fail the stage's error.
            Drop(ref input.Items[position]);
            _errors.Reject(input, PipelineStage.Collate, input.Indices[position], ex);
            return;
        }

        var bucket = _options.BucketOf(length);
        var held = _buckets[bucket];
        if (held is not null && _options.MaxTokens != LengthBucketing.Unbounded
            && (long)(held.Count + 1) * Math.Max(_longest[bucket], length) > _options.MaxTokens)
        {
            // One more sample would take the batch past the budget: it goes out as it is.
            Send(held, output);
            held = null;
        }

        if (held is null)
        {
            _buckets[bucket] = held = NewChunk(_options.BatchSize(bucket, _batchSize));
            _longest[bucket] = 0;
        }

        held.Items[held.Count] = input.Items[position];
        held.Indices[held.Count++] = input.Indices[position];
        _longest[bucket] = Math.Max(_longest[bucket], length);
        if (held.Count == _options.BatchSize(bucket, _batchSize))
        {
            Send(held, output);
            _buckets[bucket] = null;
        }
    }

    protected override void Flush(List<Chunk<T>> output)
    {
        for (var bucket = 0; bucket < _buckets.Length; bucket++)
        {
            if (_buckets[bucket] is not { } held)
            {
                continue;
            }

            _buckets[bucket] = null;
            if (_dropLast)
            {
                // The partial batches of drop-last were read from the source: they are accounted for as dropped.
                Accounting.Add(Epoch, Tally.Dropped, held.Count);
                Drop(held);
            }
            else
            {
                Send(held, output);
            }
        }
    }

    /// <summary>Finds the field whose length decides the bucket, once the layout is known; a layout without it fails the loader.</summary>
    private void EnsureField(T item)
    {
        if (_field >= 0)
        {
            return;
        }

        // Agreed before the first chunk, unless every sample consulted failed: then this one tells.
        var layout = _pool.Layout ?? _collator.GetLayout(item);
        var field = _options.Field is { } name ? Array.FindIndex(layout.Variable, i => layout.Tensors[i].Name == name) : 0;
        if (layout.Variable.Length == 0 || field < 0)
        {
            throw new DataLoaderException(
                _options.Field is null
                    ? $"LengthBucketing needs a variable-length field to measure, and the batch layout ({layout}) has none."
                    : $"LengthBucketing.Field names '{_options.Field}', which is not a variable-length field of the batch layout ({layout}).");
        }

        _lengths = new int[layout.Variable.Length];
        _field = field;
    }
}
