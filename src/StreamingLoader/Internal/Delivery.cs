namespace StreamingLoader.Internal;

internal enum DeliveryKind
{
    Batch,
    EpochEnd,
    Empty,
    Error,
    Completed,
}

/// <summary>What reaches the consumer: a batch, an empty chunk (all skipped), an epoch's end with its chunk count, or an error.</summary>
internal readonly record struct Delivery(Batch? Batch, long Epoch, DeliveryKind Kind, DataLoaderException? Error = null, int Chunks = 0);
