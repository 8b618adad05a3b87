namespace StreamingLoader;

/// <summary>
/// A map-style dataset: a fixed number of samples, each read by its index (PyTorch's <c>Dataset</c>
/// with <c>__len__</c> and <c>__getitem__</c>).
/// </summary>
/// <typeparam name="T">The sample type.</typeparam>
/// <remarks>
/// Implementations must be safe to call from several threads at once: the loader reads with
/// <see cref="LoaderOptions.Workers"/> threads.
/// </remarks>
public interface IDataset<T>
{
    /// <summary>Gets the number of samples.</summary>
    int Count { get; }

    /// <summary>Reads the sample at <paramref name="index"/> (0 ≤ index &lt; <see cref="Count"/>).</summary>
    T GetItem(int index);
}

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

/// <summary>
/// A dataset whose samples have a fixed tensor shape, so the default collation can size batch
/// buffers before the first sample is read.
/// </summary>
public interface IShapedDataset
{
    /// <summary>Gets the shape of one sample's features (without the batch dimension).</summary>
    IReadOnlyList<int> FeatureShape { get; }

    /// <summary>Gets the shape of one sample's label; empty for a scalar label.</summary>
    IReadOnlyList<int> LabelShape { get; }
}
