using static TorchSharp.torch;
using StreamingLoader.Batching;

namespace StreamingLoader.TorchSharp.Internal;

/// <summary>The CPU feed: the batch memory itself, wrapped.</summary>
internal sealed class CpuFeed() : TorchFeed(CPU)
{
    private int _disposed;

    public override TorchBatch Stage(Batch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var tensors = BatchTensorExtensions.Wrap(batch);

        // The TorchBatch owns them, not a dispose scope that happens to be open on this thread.
        foreach (var tensor in tensors.Values)
        {
            tensor.DetachFromDisposeScope();
        }

        TorchSharpMetrics.Staged(batch, "cpu");
        return new TorchBatch(tensors, batch.Count, batch.Epoch, batch.Index, static () => { });
    }

    public override ValueTask DisposeAsync()
    {
        Volatile.Write(ref _disposed, 1);
        return ValueTask.CompletedTask;
    }
}
