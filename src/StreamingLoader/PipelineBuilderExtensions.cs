using System.Threading.Channels;

namespace StreamingLoader;

/// <summary>Builds pipelines of fixed-shape <see cref="Sample{TFeature, TLabel}"/> with the default collation.</summary>
public static class PipelineBuilderExtensions
{
    /// <summary>
    /// Builds the loader with <see cref="Collate.Tensors{TFeature, TLabel}"/>, taking shapes from the dataset when it
    /// declares them (<see cref="IShapedDataset"/>), else from the first sample.
    /// </summary>
    public static DataLoader Build<TFeature, TLabel>(this PipelineBuilder<Sample<TFeature, TLabel>> builder, LoaderOptions? options = null, LoaderState? resumeFrom = null)
        where TFeature : unmanaged
        where TLabel : unmanaged
    {
        ArgumentNullException.ThrowIfNull(builder);
        var shaped = builder.Source.Shape;
        return builder.Build(Collate.Tensors<TFeature, TLabel>(shaped?.FeatureShape, shaped?.LabelShape), options, resumeFrom);
    }
}
