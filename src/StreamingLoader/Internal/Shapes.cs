namespace StreamingLoader.Internal;

internal static class Shapes
{
    public static int ElementCount(IReadOnlyList<int> shape, string paramName)
    {
        long count = 1;
        foreach (var dim in shape)
        {
            if (dim <= 0)
            {
                throw new ArgumentOutOfRangeException(paramName, $"Shape {Format(shape)} has a dimension ≤ 0.");
            }

            count *= dim;
            if (count > int.MaxValue)
            {
                throw new ArgumentOutOfRangeException(paramName, $"Shape {Format(shape)} has more than {int.MaxValue} elements.");
            }
        }

        return (int)count;
    }

    public static string Format(IReadOnlyList<int> shape) => "[" + string.Join(", ", shape) + "]";
}
