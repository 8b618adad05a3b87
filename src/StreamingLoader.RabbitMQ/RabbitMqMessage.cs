using System.Runtime.InteropServices;
using StreamingLoader.RabbitMQ.Internal;

namespace StreamingLoader.RabbitMQ;

/// <summary>One message taken from the queue and not yet acknowledged: it is acknowledged once the batch holding it is disposed.</summary>
[StructLayout(LayoutKind.Auto)]
public readonly struct RabbitMqMessage
{
    internal RabbitMqMessage(Delivery delivery, ReadOnlyMemory<byte> body, string? messageId, bool redelivered, long sequence)
    {
        Delivery = delivery;
        Body = body;
        MessageId = messageId;
        Redelivered = redelivered;
        Sequence = sequence;
    }

    /// <summary>Gets the message body.</summary>
    public ReadOnlyMemory<byte> Body { get; }

    /// <summary>Gets the message id the producer set, or null.</summary>
    public string? MessageId { get; }

    /// <summary>Gets whether the broker delivered this message before (to this consumer or another).</summary>
    public bool Redelivered { get; }

    /// <summary>Gets the message's number among those this source received, from 1.</summary>
    public long Sequence { get; }

    internal Delivery Delivery { get; }
}
