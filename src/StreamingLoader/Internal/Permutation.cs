namespace StreamingLoader.Internal;

internal static class Permutation
{
    /// <summary>A Fisher–Yates permutation of 0..count-1 drawn from <paramref name="random"/>.</summary>
    public static int[] Create(int count, CounterRandom random)
    {
        var result = new int[count];
        for (var i = 0; i < count; i++)
        {
            result[i] = i;
        }

        Shuffle(result, random);
        return result;
    }

    public static void Shuffle<T>(Span<T> items, CounterRandom random)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = random.NextInt32(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
