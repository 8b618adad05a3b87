using System.Collections.Concurrent;

namespace StreamingLoader.Parquet.Internal;

/// <summary>One decoded row group (or record batch): its features and labels, in pooled arrays.</summary>
internal sealed class DecodedUnit(float[] features, long[] labels)
{
    public float[] Features { get; } = features;

    public long[] Labels { get; } = labels;

    public int Rows { get; set; }
}

/// <summary>Arrays for decoded units, reused so that reading an epoch allocates nothing per row.</summary>
internal sealed class UnitPool(int maxRows, int featureLength)
{
    private readonly ConcurrentBag<DecodedUnit> _free = [];

    public DecodedUnit Rent() => _free.TryTake(out var unit) ? unit : new DecodedUnit(new float[(long)maxRows * featureLength], new long[maxRows]);

    public void Return(DecodedUnit unit) => _free.Add(unit);
}
