using StreamingLoader.Datasets;

namespace StreamingLoader.Internal;

/// <summary>0, 1, …, count-1 every epoch: <see cref="Sampler.Sequential"/>.</summary>
internal sealed class SequentialSampler : Sampler
{
    private readonly int _count;

    public SequentialSampler(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _count = count;
    }

    internal override string Describe() => $"sequential of {_count}";

    public override int Length => _count;

    public override int[] GetIndices(ulong seed, long epoch) => NewFilled(seed, epoch);

    internal override void FillIndices(ulong seed, long epoch, Span<int> destination)
    {
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = i;
        }
    }
}
