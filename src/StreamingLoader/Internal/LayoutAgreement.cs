namespace StreamingLoader.Internal;

/// <summary>
/// Agrees a batch layout from the first samples of the epoch, in the source's order, before any worker collates: the
/// layout most of them have, the earliest on a tie. One malformed first sample then cannot decide the layout, and
/// no race between workers can either.
/// </summary>
internal static class LayoutAgreement
{
    /// <summary>How many samples that read and transform without error are consulted.</summary>
    public const int Samples = 8;

    public static BatchLayout? Agree(IReadOnlyList<BatchLayout> candidates) =>
        candidates
            .Select((layout, order) => (layout, order))
            .GroupBy(c => c.layout, SameShape.Instance)
            .OrderByDescending(g => g.Count())
            .ThenBy(g => g.Min(c => c.order))
            .Select(g => g.Key)
            .FirstOrDefault();

    private sealed class SameShape : IEqualityComparer<BatchLayout>
    {
        public static readonly SameShape Instance = new();

        public bool Equals(BatchLayout? x, BatchLayout? y) => x is not null && y is not null && x.SameAs(y);

        public int GetHashCode(BatchLayout obj) => obj.Tensors.Aggregate(0, (hash, t) => HashCode.Combine(hash, t.Name, t.ElementType, t.ElementsPerStep));
    }
}
