using System.Collections.Concurrent;
using RabbitMQ.Client;
using StreamingLoader.Batching;
using StreamingLoader.Sources;

namespace StreamingLoader.RabbitMQ.Internal;

/// <summary>
/// Writes message bodies through a line collator and keeps, per batch, the messages it holds, to settle them when
/// the batch is released. A body the inner collator rejects goes to the dead-letter exchange with its reason.
/// </summary>
internal sealed class MessageCollator(RabbitMqSource source, Collator<TextLine> inner) : Collator<RabbitMqMessage>
{
    private readonly ConcurrentDictionary<Batch, BatchMessages> _open = new(ReferenceEqualityComparer.Instance);

    public override BatchLayout GetLayout(RabbitMqMessage firstSample) => inner.GetLayout(AsLine(firstSample));

    public override void Write(in RabbitMqMessage sample, int slot, Batch batch)
    {
        var messages = _open.GetOrAdd(batch, Open);
        try
        {
            inner.Write(AsLine(sample), slot, batch);
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException)
        {
            var reason = $"{ex.Message} (message id {sample.MessageId ?? "none"})";
            DeadLetter(sample, reason);
            throw new InvalidDataException(reason, ex);
        }

        messages.List.Add(sample);
    }

    private TextLine AsLine(in RabbitMqMessage message) => new(source.Description, message.Sequence, message.Body);

    private BatchMessages Open(Batch batch)
    {
        var messages = new BatchMessages(_open, source.Acknowledger, batch);
        BatchLease.OnRelease(batch, static (state, consumed) => ((BatchMessages)state!).Release(consumed), messages);
        return messages;
    }

    private void DeadLetter(in RabbitMqMessage message, string reason)
    {
        var properties = new BasicProperties
        {
            MessageId = message.MessageId,
            Persistent = true,
            Headers = new Dictionary<string, object?> { [RabbitMqSource.ReasonHeader] = reason, ["x-original-queue"] = source.Options.Queue },
        };

        try
        {
            // Confirmed before the original is acknowledged, so the message is always somewhere. Rare, so a worker
            // may wait for it.
            message.Delivery.Generation.DeadLetterChannel
                .BasicPublishAsync(source.Options.DeadLetterExchange, source.Options.Queue, mandatory: false, properties, message.Body)
                .AsTask().GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Not dead-lettered: left unacknowledged, it comes back after a reconnect and is judged again.
            return;
        }

        source.Acknowledger.DeadLettered(message);
        source.CountDeadLetter();
    }

    private sealed class BatchMessages(ConcurrentDictionary<Batch, BatchMessages> open, Acknowledger acknowledger, Batch batch)
    {
        public List<RabbitMqMessage> List { get; } = [];

        public void Release(bool consumed)
        {
            open.TryRemove(batch, out _);
            acknowledger.Release(List, consumed);
        }
    }
}
