using FsCheck;
using FsCheck.Fluent;
using StreamingLoader.Datasets;

namespace StreamingLoader.Samples.Tests;

/// <summary>
/// Random bytes and random mutations (bit flips, truncations, insertions, deletions, header rewrites) of valid IDX
/// files, plain and gzip'd: loading either succeeds with a consistent dataset or throws an
/// <see cref="InvalidDataException"/> naming the file; it never hangs and never allocates much more than the file
/// really holds, whatever its header claims.
/// </summary>
public sealed class IdxPropertyTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly IdxFiles _files = new();

    public void Dispose() => _files.Dispose();

    private enum Mutation
    {
        FlipBit,
        Truncate,
        Insert,
        Delete,
        WriteHeaderInt,
    }

    [Fact]
    public void MutatedValidFiles_LoadOrThrowInvalidDataNamingTheFile()
    {
        var cases =
            from images in Gen.Choose(0, 20)
            from rows in Gen.Choose(1, 6)
            from mutateLabels in ArbMap.Default.GeneratorFor<bool>()
            from gzip in ArbMap.Default.GeneratorFor<bool>()
            from mutations in Gen.ListOf(
                from kind in Gen.Elements(Enum.GetValues<Mutation>())
                from at in Gen.Choose(0, int.MaxValue)
                from value in Gen.Frequency((3, Gen.Choose(0, 300)), (1, Gen.Choose(int.MinValue, int.MaxValue)))
                select (kind, at, value)).Resize(3)
            select (images, rows, mutateLabels, gzip, mutations);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var images = IdxFiles.Images(c.images, c.rows, 5);
            var labels = IdxFiles.Labels(c.images);
            if (c.mutateLabels)
            {
                labels = Mutate(labels, c.mutations);
            }
            else
            {
                images = Mutate(images, c.mutations);
            }

            return LoadsOrFailsCleanly(images, labels, c.gzip);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    [Fact]
    public void RandomBytes_ThrowInvalidDataNamingTheFile()
    {
        var cases =
            from length in Gen.Choose(0, 3000)
            from seed in Gen.Choose(0, int.MaxValue)
            from idxHead in ArbMap.Default.GeneratorFor<bool>()
            from gzip in ArbMap.Default.GeneratorFor<bool>()
            select (length, seed, idxHead, gzip);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var bytes = new byte[c.length];
            new Random(c.seed).NextBytes(bytes);
            if (c.idxHead && bytes.Length >= 4)
            {
                // A plausible magic number, so the dimension and data checks are reached too.
                bytes[0] = bytes[1] = 0;
                bytes[2] = 0x08;
                bytes[3] = (byte)(1 + (bytes[3] % 4));
            }

            return LoadsOrFailsCleanly(bytes, IdxFiles.Labels(3), c.gzip);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    private bool LoadsOrFailsCleanly(byte[] images, byte[] labels, bool gzip)
    {
        var imagesPath = _files.Write($"images-{Guid.NewGuid():N}", images, gzip);
        var labelsPath = _files.Write($"labels-{Guid.NewGuid():N}", labels, gzip);
        var load = Task.Run(() =>
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                var dataset = IdxDataset.Load(imagesPath, labelsPath);
                var sampleBytes = dataset.Count == 0 ? 0 : dataset.GetItem(dataset.Count - 1).Features.Length;
                return (Error: (Exception?)null, Allocated: GC.GetAllocatedBytesForCurrentThread() - before, Count: dataset.Count, SampleBytes: sampleBytes);
            }
            catch (Exception ex)
            {
                return (Error: ex, Allocated: GC.GetAllocatedBytesForCurrentThread() - before, Count: 0, SampleBytes: 0);
            }
        });
        if (!load.Wait(Bound))
        {
            throw new TimeoutException($"loading {images.Length} + {labels.Length} bytes took more than {Bound}");
        }

        var (error, allocated, count, sampleBytes) = load.Result;

        // What the files really hold, decompressed, twice over (the doubling buffer), plus headers and the labels as Int64.
        var limit = (1L << 20) + (2L * (images.Length + labels.Length)) + (8L * labels.Length);
        if (allocated > limit)
        {
            throw new InvalidOperationException($"loading {images.Length} + {labels.Length} bytes allocated {allocated} bytes (limit {limit})");
        }

        return error switch
        {
            null => (long)count * sampleBytes <= images.Length,
            InvalidDataException invalid when invalid.Message.StartsWith($"'{imagesPath}'", StringComparison.Ordinal)
                || invalid.Message.StartsWith($"'{labelsPath}'", StringComparison.Ordinal) => true,
            _ => throw new InvalidOperationException($"unexpected error: {error}"),
        };
    }

    private static byte[] Mutate(byte[] valid, IEnumerable<(Mutation Kind, int At, int Value)> mutations)
    {
        var bytes = new List<byte>(valid);
        foreach (var (kind, at, value) in mutations)
        {
            var position = bytes.Count == 0 ? 0 : (int)((uint)at % (uint)bytes.Count);
            switch (kind)
            {
                case Mutation.FlipBit when bytes.Count > 0:
                    bytes[position] ^= (byte)(1 << (value & 7));
                    break;
                case Mutation.Truncate:
                    bytes.RemoveRange(position, bytes.Count - position);
                    break;
                case Mutation.Insert:
                    var inserted = new byte[value & 0xFF];
                    new Random(at).NextBytes(inserted);
                    bytes.InsertRange(position, inserted);
                    break;
                case Mutation.Delete:
                    bytes.RemoveRange(position, Math.Min(value & 0xFF, bytes.Count - position));
                    break;
                case Mutation.WriteHeaderInt when bytes.Count >= 8:
                    // A lying size: one of the first dimensions rewritten, often far beyond the file.
                    var offset = 4 + (4 * (at % Math.Min(3, (bytes.Count - 4) / 4)));
                    bytes[offset] = (byte)(value >> 24);
                    bytes[offset + 1] = (byte)(value >> 16);
                    bytes[offset + 2] = (byte)(value >> 8);
                    bytes[offset + 3] = (byte)value;
                    break;
                default:
                    break;
            }
        }

        return [.. bytes];
    }
}
