using RabbitMQ.Client;

namespace StreamingLoader.RabbitMQ.Internal;

/// <summary>The queues and exchange a source and a publisher agree on: declared the same way by both.</summary>
internal static class Topology
{
    public static async Task DeclareQueueAsync(IChannel channel, string queue, CancellationToken cancellationToken) =>
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, arguments: null, cancellationToken: cancellationToken).ConfigureAwait(false);

    public static async Task DeclareAsync(IChannel channel, RabbitMqSourceOptions options, CancellationToken cancellationToken)
    {
        await DeclareQueueAsync(channel, options.Queue, cancellationToken).ConfigureAwait(false);
        await channel.ExchangeDeclareAsync(options.DeadLetterExchange, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
        await DeclareQueueAsync(channel, options.DeadLetterQueue, cancellationToken).ConfigureAwait(false);
        await channel.QueueBindAsync(options.DeadLetterQueue, options.DeadLetterExchange, routingKey: string.Empty, cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
