namespace StreamingLoader.Internal;

internal enum DeliveryKind
{
    Batch,
    EpochEnd,
    Empty,
    Error,
    Completed,
}
