namespace StreamingLoader.RabbitMQ.Internal;

/// <summary>A message's delivery: the tag and the generation it belongs to.</summary>
internal readonly record struct Delivery(Generation Generation, ulong Tag);
