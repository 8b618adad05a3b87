using RabbitMQ.Client;
using StreamingLoader.RabbitMQ.Internal;

namespace StreamingLoader.RabbitMQ;

/// <summary>
/// Publishes samples to a queue for <see cref="RabbitMqSource"/> consumers, with publisher confirms: a publish
/// completes once the broker has taken the message (persistent, on a durable queue, so it survives a broker restart).
/// </summary>
public sealed class RabbitMqPublisher : IAsyncDisposable
{
    private const int ConfirmWindow = 512;
    private readonly IConnection _connection;
    private readonly IChannel _channel;
    private readonly string _queue;
    private int _disposed;

    private RabbitMqPublisher(IConnection connection, IChannel channel, string queue)
    {
        _connection = connection;
        _channel = channel;
        _queue = queue;
    }

    /// <summary>Connects and declares <paramref name="queue"/> (durable) as the source does.</summary>
    public static async Task<RabbitMqPublisher> ConnectAsync(Uri uri, string queue, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uri);
        ArgumentException.ThrowIfNullOrWhiteSpace(queue);
        var factory = new ConnectionFactory { Uri = uri, ClientProvidedName = "streamingloader-publisher" };
        var connection = await factory.CreateConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken).ConfigureAwait(false);
            await Topology.DeclareQueueAsync(channel, queue, cancellationToken).ConfigureAwait(false);
            return new RabbitMqPublisher(connection, channel, queue);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Publishes one message and waits for the broker's confirm.</summary>
    /// <param name="body">The message body (for <c>Collate.Messages(source, Collate.Json(...))</c>, one JSON object).</param>
    /// <param name="messageId">An id unique to the message, which lets consumers drop redelivered copies.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <exception cref="global::RabbitMQ.Client.Exceptions.PublishException">The broker refused the message.</exception>
    public async Task PublishAsync(ReadOnlyMemory<byte> body, string? messageId = null, CancellationToken cancellationToken = default) =>
        await _channel.BasicPublishAsync(string.Empty, _queue, mandatory: true, Properties(messageId), body, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Publishes messages with up to 512 confirms outstanding at once, and returns when every one is confirmed.
    /// </summary>
    public async Task PublishManyAsync(IEnumerable<(string? MessageId, ReadOnlyMemory<byte> Body)> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var outstanding = new Queue<Task>();
        foreach (var (messageId, body) in messages)
        {
            if (outstanding.Count == ConfirmWindow)
            {
                await outstanding.Dequeue().ConfigureAwait(false);
            }

            outstanding.Enqueue(_channel.BasicPublishAsync(string.Empty, _queue, mandatory: true, Properties(messageId), body, cancellationToken).AsTask());
        }

        while (outstanding.Count > 0)
        {
            await outstanding.Dequeue().ConfigureAwait(false);
        }
    }

    /// <summary>Closes the connection. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        try
        {
            await _channel.CloseAsync().ConfigureAwait(false);
            await _connection.CloseAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The broker is gone already.
        }

        await _channel.DisposeAsync().ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
    }

    private static BasicProperties Properties(string? messageId) => new() { MessageId = messageId, Persistent = true, ContentType = "application/json" };
}
