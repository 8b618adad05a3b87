namespace StreamingLoader.RabbitMQ;

/// <summary>Where a <see cref="RabbitMqSource"/> reads from and how.</summary>
/// <remarks>
/// Defaults: <see cref="Uri"/> amqp://guest:guest@localhost:5672/, <see cref="PrefetchCount"/> 2048,
/// <see cref="DeadLetterExchange"/> "streamingloader.dead-letter", <see cref="ReconnectDelay"/> 500 ms,
/// <see cref="IdleTimeout"/> infinite, <see cref="DuplicateWindow"/> 1,000,000 message ids.
/// </remarks>
public sealed class RabbitMqSourceOptions
{
    private Uri _uri = new("amqp://guest:guest@localhost:5672/");
    private string _queue = string.Empty;
    private ushort _prefetchCount = 2048;
    private string _deadLetterExchange = "streamingloader.dead-letter";
    private TimeSpan _reconnectDelay = TimeSpan.FromMilliseconds(500);
    private TimeSpan _idleTimeout = Timeout.InfiniteTimeSpan;
    private int _duplicateWindow = 1_000_000;

    /// <summary>Gets or sets the broker's AMQP URI.</summary>
    public Uri Uri
    {
        get => _uri;
        set => _uri = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Gets or sets the queue to consume (declared durable if missing). Required.</summary>
    public string Queue
    {
        get => _queue;
        set
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value);
            _queue = value;
        }
    }

    /// <summary>
    /// Gets or sets how many messages the broker lets this consumer hold unacknowledged (basic.qos). Messages are
    /// acknowledged only when the batch holding them is disposed, so this is the pipeline's window on the queue: it
    /// must be at least the batch size, and about (prefetch + workers + 2) batches keeps every stage busy.
    /// </summary>
    public ushort PrefetchCount
    {
        get => _prefetchCount;
        set
        {
            ArgumentOutOfRangeException.ThrowIfZero(value);
            _prefetchCount = value;
        }
    }

    /// <summary>
    /// Gets or sets the fanout exchange malformed messages are republished to, with the reason in the
    /// <see cref="RabbitMqSource.ReasonHeader"/> header; a durable queue "&lt;queue&gt;.dead-letter" is bound to it.
    /// </summary>
    public string DeadLetterExchange
    {
        get => _deadLetterExchange;
        set
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(value);
            _deadLetterExchange = value;
        }
    }

    /// <summary>Gets or sets how long to wait between attempts to reconnect after the connection is lost.</summary>
    public TimeSpan ReconnectDelay
    {
        get => _reconnectDelay;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            _reconnectDelay = value;
        }
    }

    /// <summary>
    /// Gets or sets how long the stream may go without a message while connected before it ends (an epoch ends);
    /// <see cref="Timeout.InfiniteTimeSpan"/> reads until the loader stops.
    /// </summary>
    public TimeSpan IdleTimeout
    {
        get => _idleTimeout;
        set
        {
            if (value != Timeout.InfiniteTimeSpan)
            {
                ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            }

            _idleTimeout = value;
        }
    }

    /// <summary>
    /// Gets or sets how many message ids of consumed messages are remembered to drop a redelivered copy (after a
    /// reconnect the broker redelivers what was not acknowledged yet). Messages without an id are never dropped.
    /// </summary>
    public int DuplicateWindow
    {
        get => _duplicateWindow;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _duplicateWindow = value;
        }
    }

    internal string DeadLetterQueue => _queue + ".dead-letter";

    internal RabbitMqSourceOptions Clone()
    {
        if (_queue.Length == 0)
        {
            throw new ArgumentException("The queue to consume is required.", nameof(Queue));
        }

        return (RabbitMqSourceOptions)MemberwiseClone();
    }
}
