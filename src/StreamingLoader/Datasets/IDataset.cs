namespace StreamingLoader.Datasets;

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
