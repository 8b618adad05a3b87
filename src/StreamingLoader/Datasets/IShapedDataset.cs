namespace StreamingLoader.Datasets;

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
