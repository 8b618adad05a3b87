using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace StreamingLoader.Internal;

internal static class ObservableBridge
{
    /// <summary>
    /// Reads an observable through a bounded channel; OnNext waits while the channel is full, so a synchronous
    /// producer is held back instead of filling memory.
    /// </summary>
    public static async IAsyncEnumerable<T> ToAsyncEnumerable<T>(IObservable<T> source, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<T>(new BoundedChannelOptions(1024) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

        // Subscribe on another thread: a synchronous observable pushes inside Subscribe and would wait for this reader.
        var subscribing = Task.Run(() => source.Subscribe(new ChannelObserver<T>(channel.Writer, cancellationToken)), CancellationToken.None);
        try
        {
            await foreach (var item in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return item;
            }
        }
        finally
        {
            channel.Writer.TryComplete();

            // A synchronous producer ends with the exception its OnNext threw once the reader stopped.
            try
            {
                (await subscribing.ConfigureAwait(false)).Dispose();
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private sealed class ChannelObserver<T>(ChannelWriter<T> writer, CancellationToken cancellationToken) : IObserver<T>
    {
        /// <summary>
        /// Waits while the channel is full. Once the loader stops reading it throws, which is the only way to stop a
        /// synchronous producer (Rx propagates an exception from OnNext back into the producer's loop).
        /// </summary>
        public void OnNext(T value)
        {
            if (writer.TryWrite(value))
            {
                return;
            }

            try
            {
                writer.WriteAsync(value, cancellationToken).AsTask().GetAwaiter().GetResult();
            }
            catch (ChannelClosedException)
            {
                throw new OperationCanceledException("The loader stopped reading this observable.");
            }
        }

        public void OnError(Exception error) => writer.TryComplete(error);

        public void OnCompleted() => writer.TryComplete();
    }
}
