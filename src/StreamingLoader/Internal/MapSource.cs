using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace StreamingLoader.Internal;

internal sealed class MapSource<T>(IDataset<T> dataset, Sampler? sampler, BatchSampler? batchSampler) : MapSourceBase
{
    public IDataset<T> Dataset => dataset;

    public override IShapedDataset? Shape => dataset as IShapedDataset;

    public override bool HasSampler => sampler is not null;

    public override bool HasBatchSampler => batchSampler is not null;

    /// <summary>The batch sampler for these (validated) options: PyTorch's rules for <c>shuffle</c>, <c>sampler</c> and <c>batch_sampler</c>.</summary>
    public BatchSampler ResolveBatchSampler(LoaderOptions options)
    {
        if (batchSampler is not null)
        {
            return batchSampler;
        }

        var resolved = sampler ?? (options.Shuffle ? Sampler.Random(dataset.Count) : Sampler.Sequential(dataset.Count));
        return BatchSampler.Create(resolved, options.BatchSize, options.DropLast);
    }
}
