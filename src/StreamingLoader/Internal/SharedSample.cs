namespace StreamingLoader.Internal;

/// <summary>
/// A packed document that crosses a batch boundary, so several chunks hold it and may be collated at once on different
/// workers: each chunk releases its hold once written or dropped, and the last one disposes the document.
/// </summary>
internal sealed class SharedSample
{
    private int _holders = 1;

    /// <summary>Adds the hold of one more chunk.</summary>
    public void AddHolder() => Interlocked.Increment(ref _holders);

    /// <summary>Releases one chunk's hold; true for the last, which disposes the document.</summary>
    public bool Release() => Interlocked.Decrement(ref _holders) == 0;
}
