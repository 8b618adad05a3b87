using System.Threading.Channels;

namespace StreamingLoader.RabbitMQ.Internal;

/// <summary>
/// Settles deliveries on one task: acknowledges consumed messages (one <c>multiple</c> acknowledgement per run of
/// tags, single ones past a gap), requeues messages the loader dropped undelivered, and remembers message ids so a
/// copy the broker redelivers after a reconnect is not trained on twice.
/// </summary>
internal sealed class Acknowledger : IAsyncDisposable
{
    private readonly Channel<Settlement> _pending = Channel.CreateUnbounded<Settlement>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock _lock = new();
    private readonly Dictionary<string, IdState> _ids = new(StringComparer.Ordinal);
    private readonly Queue<string> _consumedOrder = new();
    private readonly int _window;
    private readonly Task _loop;
    private long _duplicatesDropped;

    public Acknowledger(int duplicateWindow)
    {
        _window = duplicateWindow;
        _loop = Task.Run(RunAsync);
    }

    public long DuplicatesDropped => Interlocked.Read(ref _duplicatesDropped);

    /// <summary>Decides whether a received message goes to the loader; a redelivered copy of a known one does not.</summary>
    public bool Admit(in RabbitMqMessage message)
    {
        if (message.MessageId is not { } id || _window == 0)
        {
            return true;
        }

        lock (_lock)
        {
            if (message.Redelivered && _ids.TryGetValue(id, out var known))
            {
                Interlocked.Increment(ref _duplicatesDropped);
                if (known.Consumed)
                {
                    Enqueue(message.Delivery, requeue: false);
                }
                else
                {
                    // The first copy is still in the pipeline: this one shares its fate.
                    (known.Copies ??= []).Add(message.Delivery);
                }

                return false;
            }

            _ids[id] = new IdState();
            return true;
        }
    }

    /// <summary>Settles the messages of a released batch: acknowledged when consumed, requeued when not.</summary>
    public void Release(List<RabbitMqMessage> messages, bool consumed)
    {
        lock (_lock)
        {
            foreach (var message in messages)
            {
                Settle(message, consumed);
            }
        }
    }

    /// <summary>Acknowledges a message that went to the dead-letter exchange.</summary>
    public void DeadLettered(in RabbitMqMessage message)
    {
        lock (_lock)
        {
            Settle(message, consumed: true);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private void Settle(in RabbitMqMessage message, bool consumed)
    {
        if (message.MessageId is { } id && _ids.TryGetValue(id, out var state))
        {
            foreach (var copy in state.Copies ?? [])
            {
                Enqueue(copy, requeue: !consumed);
            }

            state.Copies = null;
            if (consumed)
            {
                state.Consumed = true;
                _consumedOrder.Enqueue(id);
                while (_consumedOrder.Count > _window)
                {
                    _ids.Remove(_consumedOrder.Dequeue());
                }
            }
            else
            {
                _ids.Remove(id);
            }
        }

        Enqueue(message.Delivery, requeue: !consumed);
    }

    private void Enqueue(Delivery delivery, bool requeue) => _pending.Writer.TryWrite(new Settlement(delivery, requeue));

    private async Task RunAsync()
    {
        var touched = new HashSet<Generation>();
        var reader = _pending.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            touched.Clear();
            while (reader.TryRead(out var settlement))
            {
                var generation = settlement.Delivery.Generation;
                if (!generation.Alive)
                {
                    // The broker requeued everything unacknowledged on that connection; the copy comes again.
                    continue;
                }

                touched.Add(generation);
                await SendAsync(generation, () => SettleOneAsync(generation, settlement)).ConfigureAwait(false);
            }

            foreach (var generation in touched)
            {
                var pending = generation.LastPending;
                if (generation.Alive && pending > generation.Acknowledged)
                {
                    await SendAsync(generation, () => generation.Channel.BasicAckAsync(pending, multiple: true).AsTask()).ConfigureAwait(false);
                    generation.Acknowledged = pending;
                }
            }
        }
    }

    private static async Task SettleOneAsync(Generation generation, Settlement settlement)
    {
        var tag = settlement.Delivery.Tag;
        if (settlement.Requeue)
        {
            await generation.Channel.BasicNackAsync(tag, multiple: false, requeue: true).ConfigureAwait(false);
            generation.Settle(tag, pendingAcknowledgement: false);
        }
        else if (!generation.Settle(tag, pendingAcknowledgement: true))
        {
            await generation.Channel.BasicAckAsync(tag, multiple: false).ConfigureAwait(false);
        }
    }

    private static async Task SendAsync(Generation generation, Func<Task> send)
    {
        try
        {
            await send().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The connection is gone: its messages return to the queue, and the reconnect starts a new generation.
            generation.End();
        }
    }

    private readonly record struct Settlement(Delivery Delivery, bool Requeue);

    private sealed class IdState
    {
        public bool Consumed { get; set; }

        public List<Delivery>? Copies { get; set; }
    }
}
