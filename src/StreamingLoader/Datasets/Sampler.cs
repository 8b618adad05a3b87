using StreamingLoader.Internal;

namespace StreamingLoader.Datasets;

/// <summary>
/// Chooses which dataset indices an epoch visits, and in what order (PyTorch's <c>Sampler</c>).
/// </summary>
/// <remarks>
/// A sampler is a pure function of (seed, epoch): the loader passes its <see cref="LoaderOptions.Seed"/>, so the
/// same seed gives the same order on every run and a resumed run can recompute any epoch's order. Subclass it
/// for a custom order; the factories cover PyTorch's built-in samplers.
/// </remarks>
public abstract class Sampler
{
    /// <summary>Gets the number of indices each epoch yields.</summary>
    public abstract int Length { get; }

    /// <summary>Returns the indices of <paramref name="epoch"/>; an array of <see cref="Length"/> elements.</summary>
    public abstract int[] GetIndices(ulong seed, long epoch);

    /// <summary>
    /// Writes the indices of <paramref name="epoch"/> into <paramref name="destination"/> (<see cref="Length"/>
    /// elements): the loader reuses one array for every epoch, where a new one per epoch would be a large object
    /// that only a full collection frees. Built-in samplers write in place; others are copied.
    /// </summary>
    internal virtual void FillIndices(ulong seed, long epoch, Span<int> destination) => GetIndices(seed, epoch).CopyTo(destination);

    /// <summary>What decides the order, for <see cref="LoaderState.Ordering"/>: the kind of sampler and its parameters.</summary>
    internal virtual string Describe() => $"{GetType().FullName} of {Length}";

    /// <summary><see cref="GetIndices"/> for a sampler that implements <see cref="FillIndices"/>.</summary>
    private protected int[] NewFilled(ulong seed, long epoch)
    {
        var result = new int[Length];
        FillIndices(seed, epoch, result);
        return result;
    }

    /// <summary>0, 1, …, count-1 every epoch (PyTorch's <c>SequentialSampler</c>).</summary>
    public static Sampler Sequential(int count) => new SequentialSampler(count);

    /// <summary>
    /// A random order, drawn anew each epoch (PyTorch's <c>RandomSampler</c>). Without replacement every index
    /// appears once per epoch; with <paramref name="numSamples"/> larger than <paramref name="count"/> whole
    /// permutations repeat, as in PyTorch. With replacement each index is drawn uniformly.
    /// </summary>
    public static Sampler Random(int count, bool replacement = false, int? numSamples = null) =>
        new RandomSampler(count, replacement, numSamples ?? count);

    /// <summary>
    /// Draws <paramref name="numSamples"/> indices with probability proportional to <paramref name="weights"/>
    /// (PyTorch's <c>WeightedRandomSampler</c>).
    /// </summary>
    public static Sampler WeightedRandom(IReadOnlyList<double> weights, int numSamples, bool replacement = true) =>
        new WeightedRandomSampler(weights, numSamples, replacement);

    /// <summary>The given indices in a random order each epoch (PyTorch's <c>SubsetRandomSampler</c>).</summary>
    public static Sampler SubsetRandom(IReadOnlyList<int> indices) => new SubsetRandomSampler(indices);

    /// <summary>
    /// This rank's share of a dataset split across <paramref name="worldSize"/> processes (PyTorch's
    /// <c>DistributedSampler</c>): ranks are disjoint and together cover every index, padded by repeating
    /// the first indices unless <paramref name="dropLast"/>; without shuffle the indices equal PyTorch's exactly.
    /// </summary>
    public static Sampler Distributed(int count, int rank, int worldSize, bool shuffle = true, bool dropLast = false) =>
        new DistributedSampler(count, rank, worldSize, shuffle, dropLast);
}
