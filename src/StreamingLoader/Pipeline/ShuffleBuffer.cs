namespace StreamingLoader;

/// <summary>
/// tf.data's shuffle buffer: keep <c>size</c> samples; each new sample replaces a randomly chosen one, which is
/// emitted. At an epoch's end the rest leave in random order. Draws are keyed on (seed, epoch), so the output is
/// a seed-determined permutation of the input (which arrives in source order whatever <see cref="LoaderOptions.Ordered"/>).
/// </summary>
/// <remarks>
/// A resumed loader replays its epoch from the start through the buffer, which drops the batches the state says
/// were delivered (and their dead letters, published before): the rest are exactly the batches the saved run had
/// still to deliver, given the same source and the same failures. The replayed samples are not counted as read.
/// </remarks>
internal sealed class ShuffleBuffer<T>
{
    private readonly LoaderState _start;
    private readonly SampleAccounting _accounting;
    private readonly T[] _items;
    private readonly long[] _indices;
    private readonly int _batchSize;
    private readonly ulong _seed;
    private CounterRandom _random;
    private long _epoch = -1;
    private int _filled;
    private Chunk<T>? _pending;
    private int _emitted;
    private int _sent;
    private long _firstReadAt;

    public ShuffleBuffer(int size, int batchSize, ulong seed, LoaderState start, SampleAccounting accounting)
    {
        _start = start;
        _accounting = accounting;
        _items = new T[size];
        _indices = new long[size];
        _batchSize = batchSize;
        _seed = seed;
    }

    /// <summary>Takes a chunk in and returns the batch-sized chunks it lets out.</summary>
    public List<Chunk<T>> Process(Chunk<T> input)
    {
        var output = new List<Chunk<T>>();
        if (input.Error is not null)
        {
            output.Add(input);
            return output;
        }

        if (input.Epoch != _epoch)
        {
            _firstReadAt = input.ReadAt;
            _epoch = input.Epoch;
            _random = new CounterRandom(_seed, _epoch, 0, CounterRandom.StreamShuffleBuffer);
        }

        if (input.IsEpochEnd)
        {
            while (_filled > 0)
            {
                var j = _random.NextInt32(_filled);
                Emit(_items[j], _indices[j], output);
                _filled--;
                _items[j] = _items[_filled];
                _indices[j] = _indices[_filled];
                _items[_filled] = default!;
            }

            if (_pending is { Count: > 0 } or { DeadLetters: not null })
            {
                Send(_pending, output);
            }

            // The buffer re-chunks, so the epoch's chunk count is its own.
            output.Add(Chunk<T>.EpochEnd(_epoch, _sent));
            _pending = null;
            _emitted = 0;
            _sent = 0;
            return output;
        }

        for (var i = 0; i < input.Count; i++)
        {
            if (_filled < _items.Length)
            {
                _items[_filled] = input.Items[i];
                _indices[_filled++] = input.Indices[i];
                continue;
            }

            var j = _random.NextInt32(_items.Length);
            Emit(_items[j], _indices[j], output);
            _items[j] = input.Items[i];
            _indices[j] = input.Indices[i];
        }

        // Samples dropped before the buffer are reported with the next chunk it emits.
        if (input.DeadLetters is not null)
        {
            (_pending ??= Chunk<T>.Rent(_batchSize, _epoch)).Continue(input).Sequence = 0;
        }

        input.Return();
        return output;
    }

    private void Emit(T item, long index, List<Chunk<T>> output)
    {
        // The age of a mixed batch counts from the first chunk that reached the buffer this epoch: an upper bound.
        _pending ??= Chunk<T>.Rent(_batchSize, _epoch);
        if (_pending.ReadAt == 0 || _firstReadAt < _pending.ReadAt)
        {
            _pending.ReadAt = _firstReadAt;
        }

        _pending.Items[_pending.Count] = item;
        _pending.Indices[_pending.Count++] = index;
        if (_pending.Count == _batchSize)
        {
            Send(_pending, output);
            _pending = null;
        }
    }

    /// <summary>Numbers a finished batch and sends it on, unless a resume replays it (then it is dropped).</summary>
    private void Send(Chunk<T> chunk, List<Chunk<T>> output)
    {
        chunk.Sequence = _emitted++;
        if (_epoch == _start.Epoch && _start.Delivered(chunk.Sequence))
        {
            _accounting.Add(_epoch, Tally.Read, -(chunk.Count + (chunk.DeadLetters?.Count ?? 0)));
            chunk.Return();
            return;
        }

        _sent++;
        output.Add(chunk);
    }
}
