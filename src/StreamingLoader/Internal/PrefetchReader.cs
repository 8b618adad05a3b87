using System.Threading.Tasks.Dataflow;

namespace StreamingLoader.Internal;

/// <summary>
/// The consumer's side of the prefetch queue: spins briefly for the next delivery (usually microseconds away), then
/// waits. A canceled read ends that read only, as <c>ChannelReader.ReadAsync</c> does. A wait longer than the stall
/// timeout (on the loader's clock) fails the loader with what each worker and the source are stuck on (PyTorch's <c>timeout</c>).
/// </summary>
internal sealed class PrefetchReader(BufferBlock<Delivery> prefetch, BatchPool pool, LoaderLifetime lifetime, TimeSpan stallTimeout, TimeProvider time, Func<IEnumerable<string>> describeStuck)
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

            if (!await WaitForOutputAsync(cancellationToken).ConfigureAwait(false))
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

    private async Task<bool> WaitForOutputAsync(CancellationToken cancellationToken)
    {
        var waiting = prefetch.OutputAvailableAsync(cancellationToken);
        if (stallTimeout == Timeout.InfiniteTimeSpan)
        {
            return await waiting.ConfigureAwait(false);
        }

        try
        {
            return await waiting.WaitAsync(stallTimeout, time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException timeout)
        {
            var stuck = describeStuck().ToList();
            var error = new DataLoaderException(
                $"No batch arrived for {stallTimeout.TotalSeconds:0.###} s (LoaderOptions.StallTimeout). Still running: {(stuck.Count == 0 ? "nothing; the pipeline is idle" : string.Join("; ", stuck))}.",
                timeout);
            _errorDelivered = true;
            lifetime.Fail(error);
            lifetime.Finish();
            throw error;
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
