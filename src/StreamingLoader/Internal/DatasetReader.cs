using System.Buffers;
using System.Runtime.CompilerServices;

namespace StreamingLoader.Internal;

/// <summary>
/// Reads a map-style chunk's samples from its dataset on a worker (PyTorch's fetch): in one call when the dataset reads
/// batches, else one by one, each read that throws a sample error tried again under the retry policy and then skipped
/// or failed by the Read stage's policy.
/// </summary>
internal sealed class DatasetReader<TSource>(IDataset<TSource> dataset, LoaderContext context)
{
    private readonly ErrorHandler _errors = context.Errors;

    /// <summary>Fills the chunk's samples from the dataset; those rejected under the skip policy leave it (as dead letters).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Read(Chunk<TSource> chunk, InFlightWork.Slot slot)
    {
        var timer = context.StartStage(PipelineStage.Read, chunk.Count);
        slot.At(PipelineStage.Read, chunk.Indices[0]);
        if (dataset is not IBatchedDataset<TSource> batched || !TryReadMany(batched, chunk))
        {
            for (var i = 0; i < chunk.Count; i++)
            {
                var index = chunk.Indices[i];
                try
                {
                    slot.At(PipelineStage.Read, index);
                    chunk.Items[i] = dataset.GetItem((int)index);
                }
                catch (Exception ex) when (_errors.IsSampleError(ex))
                {
                    var retried = _errors.RetryAsync(
                        ex, static s => new ValueTask<TSource>(s.Dataset.GetItem((int)s.Index)), (Dataset: dataset, Index: index), PipelineStage.Read, index, chunk, slot);

                    // A read is synchronous user code on this worker: a retry's backoff blocks it, as a PyTorch worker's would.
                    var (succeeded, item) = retried.IsCompletedSuccessfully ? retried.Result : retried.AsTask().GetAwaiter().GetResult();
                    if (succeeded)
                    {
                        chunk.Items[i] = item;
                    }
                    else
                    {
                        chunk.RemoveAt(i--);
                    }
                }
            }
        }

        timer.Stop(chunk.Count);
    }

    /// <summary>Reads the chunk in one call; on an error, falls back to reading one by one to find the sample.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool TryReadMany(IBatchedDataset<TSource> dataset, Chunk<TSource> chunk)
    {
        var indices = ArrayPool<int>.Shared.Rent(chunk.Count);
        try
        {
            for (var i = 0; i < chunk.Count; i++)
            {
                indices[i] = (int)chunk.Indices[i];
            }

            dataset.GetItems(indices.AsSpan(0, chunk.Count), chunk.ItemSpan);
            return true;
        }
#pragma warning disable CA1031 // The per-sample path reports the error with its sample index.
        catch (Exception)
#pragma warning restore CA1031
        {
            return false;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(indices);
        }
    }
}
