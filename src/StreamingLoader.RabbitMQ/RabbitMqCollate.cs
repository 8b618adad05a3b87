using StreamingLoader.Batching;
using StreamingLoader.Sources;
using StreamingLoader.RabbitMQ.Internal;

namespace StreamingLoader.RabbitMQ;

/// <summary>The RabbitMQ collator, as <c>Collate.Messages(source, body)</c>.</summary>
public static class RabbitMqCollate
{
    extension(Collate)
    {
        /// <summary>
        /// Parses message bodies with a line collator (such as <see cref="Collate.Json"/>) and acknowledges each
        /// message once the batch holding it is disposed; a body the collator rejects goes to the dead-letter exchange
        /// with its reason. Use one collator per loader.
        /// </summary>
        /// <param name="source">The queue the messages come from, which acknowledges them.</param>
        /// <param name="body">Writes each message's body, as a <see cref="TextLine"/> named by the source and the delivery's sequence.</param>
        public static Collator<RabbitMqMessage> Messages(RabbitMqSource source, Collator<TextLine> body)
        {
            ArgumentNullException.ThrowIfNull(source);
            ArgumentNullException.ThrowIfNull(body);
            return new MessageCollator(source, body);
        }
    }
}
