namespace StreamingLoader.Datasets;

/// <summary>Factories for map-style datasets.</summary>
public static class Dataset
{
    /// <summary>
    /// A custom dataset from a count and a read function (the seeds' <c>CustomDataset</c> without a class).
    /// The function must be thread-safe.
    /// </summary>
    public static IDataset<T> FromFunc<T>(int count, Func<int, T> get)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentNullException.ThrowIfNull(get);
        return new FuncDataset<T>(count, get);
    }

    /// <summary>The samples of <paramref name="source"/> at <paramref name="indices"/>, in that order (PyTorch's <c>Subset</c>).</summary>
    public static IDataset<T> Subset<T>(IDataset<T> source, IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(indices);
        var copy = new int[indices.Count];
        for (var i = 0; i < copy.Length; i++)
        {
            if ((uint)indices[i] >= (uint)source.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), $"indices[{i}] = {indices[i]} is outside the source's {source.Count} samples.");
            }

            copy[i] = indices[i];
        }

        return new SubsetDataset<T>(source, copy);
    }

    /// <summary>The samples of each dataset, one after another (PyTorch's <c>ConcatDataset</c>).</summary>
    public static IDataset<T> Concat<T>(params IDataset<T>[] datasets)
    {
        ArgumentNullException.ThrowIfNull(datasets);
        return new ConcatDataset<T>([.. datasets]);
    }

    /// <summary>
    /// Splits <paramref name="source"/> at random into parts of the given lengths, reproducibly for a seed
    /// (PyTorch's <c>random_split</c>).
    /// </summary>
    public static IDataset<T>[] RandomSplit<T>(IDataset<T> source, IReadOnlyList<int> lengths, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(lengths);
        if (lengths.Sum() != source.Count)
        {
            throw new ArgumentException($"The lengths sum to {lengths.Sum()} but the dataset has {source.Count} samples.", nameof(lengths));
        }

        var permutation = Permutation.Create(source.Count, new CounterRandom(seed, 0, 0, CounterRandom.StreamSplit));
        var parts = new IDataset<T>[lengths.Count];
        var offset = 0;
        for (var i = 0; i < parts.Length; i++)
        {
            parts[i] = new SubsetDataset<T>(source, permutation[offset..(offset + lengths[i])]);
            offset += lengths[i];
        }

        return parts;
    }

    private sealed class FuncDataset<T>(int count, Func<int, T> get) : IDataset<T>
    {
        public int Count => count;

        public T GetItem(int index) => get(index);
    }

    private sealed class SubsetDataset<T>(IDataset<T> source, int[] indices) : IDataset<T>
    {
        public int Count => indices.Length;

        public T GetItem(int index) => source.GetItem(indices[index]);
    }

    private sealed class ConcatDataset<T> : IDataset<T>
    {
        private readonly IDataset<T>[] _parts;
        private readonly int[] _ends;

        public ConcatDataset(IDataset<T>[] parts)
        {
            _parts = parts;
            _ends = new int[parts.Length];
            long total = 0;
            for (var i = 0; i < parts.Length; i++)
            {
                ArgumentNullException.ThrowIfNull(parts[i]);
                total += parts[i].Count;
                if (total > int.MaxValue)
                {
                    throw new ArgumentException($"The datasets hold more than {int.MaxValue} samples together.");
                }

                _ends[i] = (int)total;
            }

            Count = (int)total;
        }

        public int Count { get; }

        public T GetItem(int index)
        {
            if ((uint)index >= (uint)Count)
            {
                throw new ArgumentOutOfRangeException(nameof(index), index, $"The dataset has {Count} samples.");
            }

            var part = Array.BinarySearch(_ends, index);
            part = part >= 0 ? part + 1 : ~part;
            while (_parts[part].Count == 0)
            {
                part++;
            }

            var start = part == 0 ? 0 : _ends[part - 1];
            return _parts[part].GetItem(index - start);
        }
    }
}
