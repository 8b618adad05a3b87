namespace StreamingLoader.Internal;

/// <summary>
/// The chunks of samples the loader disposes (<see cref="SampleDisposal{T}"/>) while they wait between blocks: a
/// stopping Dataflow block drops the messages queued at its input, so the loader keeps its own list of them and
/// disposes what is still on it once every block has ended.
/// </summary>
internal sealed class HeldChunks<T>
{
    private readonly HashSet<Chunk<T>> _chunks = new(ReferenceEqualityComparer.Instance);
    private readonly Lock _lock = new();

    /// <summary>Notes a chunk handed to a block.</summary>
    public void Hold(Chunk<T> chunk)
    {
        if (chunk.IsMarker)
        {
            return;
        }

        lock (_lock)
        {
            _chunks.Add(chunk);
        }
    }

    /// <summary>Notes a chunk a block's worker took: from here that worker writes or drops it.</summary>
    public void Take(Chunk<T> chunk)
    {
        if (chunk.IsMarker)
        {
            return;
        }

        lock (_lock)
        {
            _chunks.Remove(chunk);
        }
    }

    /// <summary>Disposes the samples of every chunk still held and returns their arrays; call once no block runs.</summary>
    public void DiscardAll()
    {
        lock (_lock)
        {
            foreach (var chunk in _chunks)
            {
                chunk.Discard();
            }

            _chunks.Clear();
        }
    }
}
