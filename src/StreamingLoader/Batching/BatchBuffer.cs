namespace StreamingLoader;

/// <summary>
/// One pooled region of batch memory: features, labels and the sample indices. The pool reuses buffers; each lease
/// gets a new <see cref="Batch"/> over one, so a stale reference to an earlier lease cannot release a later one.
/// </summary>
internal sealed unsafe class BatchBuffer(byte* features, long featureBytes, byte* labels, long labelBytes, int capacity)
{
    public byte* Features { get; } = features;

    public long FeatureBytes { get; } = featureBytes;

    public byte* Labels { get; } = labels;

    public long LabelBytes { get; } = labelBytes;

    public long[] Indices { get; } = new long[capacity];
}
