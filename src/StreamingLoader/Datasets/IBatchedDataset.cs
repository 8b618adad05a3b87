namespace StreamingLoader.Datasets;

/// <summary>
/// A dataset that can read many samples in one call, which the loader prefers when present
/// (PyTorch's <c>__getitems__</c>).
/// </summary>
/// <typeparam name="T">The sample type.</typeparam>
public interface IBatchedDataset<T> : IDataset<T>
{
    /// <summary>Reads the samples at <paramref name="indices"/> into <paramref name="destination"/>, in order.</summary>
    void GetItems(ReadOnlySpan<int> indices, Span<T> destination);
}
