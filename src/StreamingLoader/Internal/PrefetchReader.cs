using System.Threading.Tasks.Dataflow;

namespace StreamingLoader.Internal;

/// <summary>
/// The consumer's side of the prefetch queue: spins briefly for the next delivery (usually microseconds away), then
/// waits. A canceled read ends that read only, as <c>ChannelReader.ReadAsync</c> does.
/// </summary>
internal sealed class PrefetchReader(BufferBlock<Delivery> prefetch, BatchPool pool, LoaderLifetime lifetime)
{
    /// <summary>How long the consumer spins for the next batch before it waits asynchronously.</summary>
    private const int SpinIterations = 20;

    private bool _errorDelivered;

    public async ValueTask<Delivery> ReceiveAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_errorDelivered)
            {
                // Batches made after the error by other workers are not delivered: the error ends the stream.
                lifetime.Fault!.Throw();
            }

            cancellationToken.ThrowIfCancellationRequested();
            if (prefetch.TryReceive(out var delivery))
            {
                if (delivery.Error is { } error)
                {
                    _errorDelivered = true;
                    lifetime.Fail(error);
                    lifetime.Finish();
                    lifetime.Fault!.Throw();
                }

                return delivery;
            }

            if (SpinForOutput())
            {
                continue;
            }

            lifetime.Fault?.Throw();

            if (pool.HeldByConsumer >= pool.Capacity)
            {
                throw new InvalidOperationException(
                    $"All {pool.Capacity} batch buffers are held by the consumer, so no further batch can be made. Dispose each batch when done with it (using var batch = ...), or raise LoaderOptions.PoolSize to keep more batches at once.");
            }

            if (!await prefetch.OutputAvailableAsync(cancellationToken).ConfigureAwait(false))
            {
                lifetime.Fault?.Throw();
                if (lifetime.Token.IsCancellationRequested)
                {
                    throw new OperationCanceledException("The loader was stopped.", lifetime.Token);
                }

                lifetime.Finish();
                return new Delivery(null, -1, DeliveryKind.Completed);
            }
        }
    }

    private bool SpinForOutput()
    {
        var spinner = default(SpinWait);
        for (var i = 0; i < SpinIterations; i++)
        {
            if (prefetch.Count > 0)
            {
                return true;
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }

        return false;
    }
}
