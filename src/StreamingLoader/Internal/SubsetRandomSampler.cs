using StreamingLoader.Datasets;

namespace StreamingLoader.Internal;

/// <summary>Given indices in a random order each epoch: <see cref="Sampler.SubsetRandom"/>.</summary>
internal sealed class SubsetRandomSampler : Sampler
{
    private readonly int[] _indices;

    public SubsetRandomSampler(IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        _indices = [.. indices];
    }

    internal override string Describe() => $"subset random of {_indices.Length}";

    public override int Length => _indices.Length;

    public override int[] GetIndices(ulong seed, long epoch) => NewFilled(seed, epoch);

    internal override void FillIndices(ulong seed, long epoch, Span<int> destination)
    {
        _indices.CopyTo(destination);
        var random = new CounterRandom(seed, epoch, 0, CounterRandom.StreamSampler);
        Permutation.Shuffle(destination, random);
    }
}
