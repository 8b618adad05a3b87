using FsCheck;
using FsCheck.Fluent;

namespace StreamingLoader.Tests;

/// <summary>
/// Random damage to valid files, for the parsers' property tests (JSON Lines, CSV, images): bit flips, truncations,
/// insertions of random bytes and deletions; and files of random bytes.
/// </summary>
internal static class Mutations
{
    private enum Kind
    {
        FlipBit,
        Truncate,
        Insert,
        Delete,
    }

    /// <summary>Up to <paramref name="maxMutations"/> random mutations of each file that <paramref name="valid"/> makes.</summary>
    public static Gen<byte[]> Of(Gen<byte[]> valid, int maxMutations = 4) =>
        from file in valid
        from mutations in Gen.ListOf(
            from kind in Gen.Elements(Enum.GetValues<Kind>())
            from at in Gen.Choose(0, int.MaxValue)
            from length in Gen.Frequency((3, Gen.Choose(1, 8)), (1, Gen.Choose(400, 2000)))
            from seed in Gen.Choose(0, int.MaxValue)
            select (kind, at, length, seed)).Resize(maxMutations)
        select Apply(file, mutations);

    /// <summary>Files of up to <paramref name="maxLength"/> random bytes, some with line breaks sprinkled in.</summary>
    public static Gen<byte[]> RandomBytes(int maxLength) =>
        from length in Gen.Choose(0, maxLength)
        from seed in Gen.Choose(0, int.MaxValue)
        from newlines in Gen.Choose(0, 3)
        select RandomBytes(length, seed, newlines);

    private static byte[] Apply(byte[] valid, IEnumerable<(Kind Kind, int At, int Length, int Seed)> mutations)
    {
        var bytes = new List<byte>(valid);
        foreach (var (kind, at, length, seed) in mutations)
        {
            var position = bytes.Count == 0 ? 0 : at % bytes.Count;
            switch (kind)
            {
                case Kind.FlipBit when bytes.Count > 0:
                    bytes[position] ^= (byte)(1 << (seed % 8));
                    break;
                case Kind.Truncate:
                    bytes.RemoveRange(position, bytes.Count - position);
                    break;
                case Kind.Insert:
                    var inserted = new byte[length];
                    new Random(seed).NextBytes(inserted);
                    bytes.InsertRange(position, inserted);
                    break;
                case Kind.Delete:
                    bytes.RemoveRange(position, Math.Min(length, bytes.Count - position));
                    break;
                default:
                    break;
            }
        }

        return [.. bytes];
    }

    private static byte[] RandomBytes(int length, int seed, int newlines)
    {
        var bytes = new byte[length];
        var random = new Random(seed);
        random.NextBytes(bytes);
        for (var i = 0; i < newlines * length / 64; i++)
        {
            bytes[random.Next(length)] = (byte)'\n';
        }

        return bytes;
    }
}
