namespace StreamingLoader.Internal;

/// <summary>
/// tf.data's shuffle buffer: keep <c>size</c> samples; each new sample replaces a randomly chosen one, which is
/// emitted. At an epoch's end the rest leave in random order. Draws are keyed on (seed, epoch), so the output is
/// a seed-determined permutation of the input.
/// </summary>
internal sealed class ShuffleBuffer<T>(int size, int batchSize, ulong seed, LoaderState start, SampleAccounting accounting)
    : Internal.Regrouper<T>(start, accounting)
{
    private readonly T[] _items = new T[size];
    private readonly long[] _indices = new long[size];
    private CounterRandom _random = new(seed, 0, 0, CounterRandom.StreamShuffleBuffer);
    private int _filled;
    private Chunk<T>? _pending;

    protected override void StartEpoch(long epoch)
    {
        _random = new CounterRandom(seed, epoch, 0, CounterRandom.StreamShuffleBuffer);
        DiscardHeldCore();
    }

    protected override void DiscardHeldCore()
    {
        for (var i = 0; i < _filled; i++)
        {
            Drop(ref _items[i]);
            _items[i] = default!;
        }

        _filled = 0;
        if (_pending is { } pending)
        {
            Drop(pending);
        }

        _pending = null;
    }

    protected override void Add(Chunk<T> input, int position, List<Chunk<T>> output)
    {
        if (_filled < _items.Length)
        {
            _items[_filled] = input.Items[position];
            _indices[_filled++] = input.Indices[position];
            return;
        }

        var j = _random.NextInt32(_items.Length);
        Emit(_items[j], _indices[j], output);
        _items[j] = input.Items[position];
        _indices[j] = input.Indices[position];
    }

    protected override void Flush(List<Chunk<T>> output)
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

        if (_pending is { Count: > 0 })
        {
            Send(_pending, output);
        }

        _pending = null;
    }

    private void Emit(T item, long index, List<Chunk<T>> output)
    {
        _pending ??= NewChunk(batchSize);
        _pending.Items[_pending.Count] = item;
        _pending.Indices[_pending.Count++] = index;
        if (_pending.Count == batchSize)
        {
            Send(_pending, output);
            _pending = null;
        }
    }
}
