using System.Runtime.CompilerServices;
using System.Threading.Channels;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using StreamingLoader.RabbitMQ.Internal;

namespace StreamingLoader.RabbitMQ;

/// <summary>
/// A RabbitMQ queue as an iterable source with at-least-once delivery to the training loop: a message is
/// acknowledged only when the batch holding it has been disposed by the consumer, so a trainer that dies loses
/// nothing (the broker hands its unacknowledged messages to another consumer). Several trainer processes on one
/// queue share it as competing consumers. The broker's prefetch window (basic.qos) is the pipeline's window on the
/// queue: messages flow only as fast as batches are consumed and acknowledged. The source reconnects after the
/// connection is lost; a redelivered copy of a message it already has (same message id) is dropped.
/// </summary>
/// <example>
/// <code>
/// await using var source = await RabbitMqSource.ConnectAsync(new RabbitMqSourceOptions { Uri = uri, Queue = "samples" });
/// await using var loader = Pipeline.From(source).Build(Collate.Messages(source, Collate.Json("x", 32, "y")), new LoaderOptions { BatchSize = 256 });
/// await foreach (var batch in loader.ReadEpochAsync(cancellationToken))
/// {
///     using (batch) { Train(batch); } // disposing acknowledges its messages
/// }
/// </code>
/// </example>
/// <remarks>
/// Dispose the loader (and every batch) before the source: acknowledgements need the connection, and messages whose
/// batches are disposed later are redelivered. Read a source through one loader: messages a disposed loader still
/// held stay unacknowledged until the source's connection closes. A malformed message is republished to
/// <see cref="RabbitMqSourceOptions.DeadLetterExchange"/> with the reason in the <see cref="ReasonHeader"/> header,
/// then acknowledged; the loader also reports it (fails, or records a dead letter under <see cref="ErrorPolicy.Skip"/>).
/// </remarks>
public sealed class RabbitMqSource : IAsyncEnumerable<RabbitMqMessage>, IAsyncDisposable, StreamingLoader.Internal.ISelfPositionedSource
{
    /// <summary>The header that carries the reason a message was dead-lettered.</summary>
    public const string ReasonHeader = "x-streamingloader-reason";

    /// <summary>How often the source looks at the queue's ready count (<see cref="MessagesReady"/>).</summary>
    public static readonly TimeSpan ReadyCountInterval = TimeSpan.FromSeconds(1);

    private readonly RabbitMqSourceOptions _options;

    string StreamingLoader.Internal.ISelfPositionedSource.PositionName =>
        "the broker's acknowledgements (a message is acknowledged once the batch holding it is disposed; the others are delivered again to the next run)";
    private readonly ConnectionFactory _factory;
    private readonly Channel<RabbitMqMessage> _buffer;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _firstConnection = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _run = Task.CompletedTask;
    private long _sequence;
    private long _deadLettered;
    private int _connections;
    private int _disposed;
    private volatile bool _online;
    private long _messagesReady = -1;

    private RabbitMqSource(RabbitMqSourceOptions options)
    {
        _options = options;
        Description = $"rabbitmq queue '{options.Queue}'";
        _factory = new ConnectionFactory { Uri = options.Uri, AutomaticRecoveryEnabled = false, TopologyRecoveryEnabled = false, ClientProvidedName = "streamingloader" };
        _buffer = Channel.CreateBounded<RabbitMqMessage>(new BoundedChannelOptions(options.PrefetchCount) { SingleWriter = true, SingleReader = true });
        Acknowledger = new Acknowledger(options.DuplicateWindow);
        QueueMetrics.Track(this);
    }

    /// <summary>Gets how many times the source has connected (more than 1 after reconnects).</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Gets how many redelivered copies of messages already received were dropped.</summary>
    public long DuplicatesDropped => Acknowledger.DuplicatesDropped;

    /// <summary>
    /// Gets the messages ready in the queue (not yet delivered to any consumer) as last seen, at most
    /// <see cref="ReadyCountInterval"/> ago; -1 when not known. Also the <c>streamingloader.source.queue_ready</c> gauge.
    /// </summary>
    public long MessagesReady => Interlocked.Read(ref _messagesReady);

    /// <summary>Gets how many malformed messages went to the dead-letter exchange.</summary>
    public long DeadLettered => Interlocked.Read(ref _deadLettered);

    internal RabbitMqSourceOptions Options => _options;

    internal Acknowledger Acknowledger { get; }

    internal string Description { get; }

    /// <summary>Connects, declares the queue and the dead-letter exchange, and starts consuming.</summary>
    /// <exception cref="global::RabbitMQ.Client.Exceptions.BrokerUnreachableException">The first connection failed.</exception>
    public static async Task<RabbitMqSource> ConnectAsync(RabbitMqSourceOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var source = new RabbitMqSource(options.Clone());
        source._run = Task.Run(source.RunAsync, CancellationToken.None);
        try
        {
            await source._firstConnection.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await source.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return source;
    }

    /// <summary>
    /// Reads messages as they come; the stream ends after <see cref="RabbitMqSourceOptions.IdleTimeout"/> without
    /// one. Enumerated again, it goes on with the next messages.
    /// </summary>
    public async IAsyncEnumerator<RabbitMqMessage> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        var reader = _buffer.Reader;
        while (true)
        {
            while (reader.TryRead(out var message))
            {
                yield return message;
            }

            if (!await WaitForMessageAsync(reader, cancellationToken).ConfigureAwait(false))
            {
                yield break;
            }
        }
    }

    /// <summary>Sends the pending acknowledgements, then closes the connection. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        QueueMetrics.Untrack(this);
        await Acknowledger.DisposeAsync().ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        await _run.ConfigureAwait(false);
        _stop.Dispose();
    }

    internal void CountDeadLetter() => Interlocked.Increment(ref _deadLettered);

    private async ValueTask<bool> WaitForMessageAsync(ChannelReader<RabbitMqMessage> reader, CancellationToken cancellationToken)
    {
        if (_options.IdleTimeout == Timeout.InfiniteTimeSpan)
        {
            return await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
        }

        while (true)
        {
            using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            idle.CancelAfter(_options.IdleTimeout);
            try
            {
                return await reader.WaitToReadAsync(idle.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Idle counts only while connected: a broker restarting is not an empty queue.
                if (_online)
                {
                    return false;
                }
            }
        }
    }

    /// <summary>Connects, consumes until the connection is lost, and connects again, until disposed.</summary>
    private async Task RunAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await ConsumeOnceAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (!_firstConnection.Task.IsCompleted)
            {
                _firstConnection.TrySetException(ex);
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Lost or refused: try again after a pause.
            }

            try
            {
                await Task.Delay(_options.ReconnectDelay, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        _buffer.Writer.TryComplete();
    }

    private async Task ConsumeOnceAsync(CancellationToken token)
    {
        var connection = await _factory.CreateConnectionAsync(token).ConfigureAwait(false);
        Generation? generation = null;
        try
        {
            var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            connection.ConnectionShutdownAsync += (_, _) =>
            {
                lost.TrySetResult();
                return Task.CompletedTask;
            };

            var channel = await connection.CreateChannelAsync(cancellationToken: token).ConfigureAwait(false);
            channel.ChannelShutdownAsync += (_, _) =>
            {
                lost.TrySetResult();
                return Task.CompletedTask;
            };

            var deadLetters = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), token).ConfigureAwait(false);
            await Topology.DeclareAsync(channel, _options, token).ConfigureAwait(false);
            await channel.BasicQosAsync(0, _options.PrefetchCount, global: false, token).ConfigureAwait(false);
            generation = new Generation(channel, deadLetters);
            var consumer = new AsyncEventingBasicConsumer(channel);
            var current = generation;
            consumer.ReceivedAsync += (_, delivery) => OnReceivedAsync(current, delivery);
            await channel.BasicConsumeAsync(_options.Queue, autoAck: false, consumer, token).ConfigureAwait(false);
            Interlocked.Increment(ref _connections);
            _online = true;
            _firstConnection.TrySetResult();

            // While connected, look at the queue's ready count now and then (its own channel: an error there does
            // not stop the consumer).
            var status = await connection.CreateChannelAsync(cancellationToken: token).ConfigureAwait(false);
            while (!lost.Task.IsCompleted)
            {
                try
                {
                    Interlocked.Exchange(ref _messagesReady, await status.MessageCountAsync(_options.Queue, token).ConfigureAwait(false));
                }
                catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
                {
                    Interlocked.Exchange(ref _messagesReady, -1);
                }

                await Task.WhenAny(lost.Task, Task.Delay(ReadyCountInterval, token)).ConfigureAwait(false);
                token.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            _online = false;
            generation?.End();
            try
            {
                await connection.CloseAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Already gone.
            }

            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task OnReceivedAsync(Generation generation, BasicDeliverEventArgs delivery)
    {
        // The body's memory belongs to the client only for this call.
        var message = new RabbitMqMessage(
            new Delivery(generation, delivery.DeliveryTag),
            delivery.Body.ToArray(),
            delivery.BasicProperties.MessageId,
            delivery.Redelivered,
            Interlocked.Increment(ref _sequence));
        if (!Acknowledger.Admit(message))
        {
            return;
        }

        try
        {
            await _buffer.Writer.WriteAsync(message, _stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            // Stopping: the message was never handed out and returns to the queue with the connection.
        }
    }
}
