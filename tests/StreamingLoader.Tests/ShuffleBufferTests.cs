using FsCheck;
using FsCheck.Fluent;
using StreamingLoader.Internal;

namespace StreamingLoader.Tests;

public class ShuffleBufferTests
{
    private static List<long> Run(int items, int bufferSize, int batchSize, int chunkSize, ulong seed, long epoch)
    {
        var buffer = new ShuffleBuffer<int>(bufferSize, batchSize, seed, new LoaderState(0, 0, seed, -1, -1), new SampleAccounting());
        var output = new List<long>();
        void Take(List<Chunk<int>> chunks)
        {
            foreach (var chunk in chunks)
            {
                if (!chunk.IsEpochEnd)
                {
                    Assert.True(chunk.Count <= batchSize);
                    for (var i = 0; i < chunk.Count; i++)
                    {
                        Assert.Equal(chunk.Indices[i], chunk.Items[i]);
                    }

                    output.AddRange(chunk.IndexSpan.ToArray());
                }
            }
        }

        for (var start = 0; start < items; start += chunkSize)
        {
            var chunk = Chunk<int>.Rent(chunkSize, epoch);
            for (var i = start; i < Math.Min(items, start + chunkSize); i++)
            {
                chunk.Items[chunk.Count] = i;
                chunk.Indices[chunk.Count++] = i;
            }

            Take(buffer.Process(chunk));
        }

        Take(buffer.Process(Chunk<int>.EpochEnd(epoch, 0)));
        return output;
    }

    [Fact]
    public void Process_AnySizes_OutputIsAPermutationOfTheInput()
    {
        var sizes =
            from items in Gen.Choose(0, 2000)
            from bufferSize in Gen.Choose(1, 300)
            from batchSize in Gen.Choose(1, 64)
            from chunkSize in Gen.Choose(1, 100)
            select (items, bufferSize, batchSize, chunkSize);
        Prop.ForAll(
            sizes.ToArbitrary(),
            s => Run(s.items, s.bufferSize, s.batchSize, s.chunkSize, 7, 0).Order().SequenceEqual(Enumerable.Range(0, s.items).Select(i => (long)i)))
            .QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Process_SameSeedAndEpoch_SameOrder_OtherwiseDifferent()
    {
        Prop.ForAll(
            ArbMap.Default.ArbFor<ulong>(),
            Gen.Choose(0, 1000).ToArbitrary(),
            (seed, epoch) =>
            {
                var a = Run(500, 100, 32, 50, seed, epoch);
                return a.SequenceEqual(Run(500, 100, 32, 7, seed, epoch))
                    && !a.SequenceEqual(Run(500, 100, 32, 50, seed, epoch + 1))
                    && !a.SequenceEqual(Run(500, 100, 32, 50, seed + 1, epoch));
            }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Process_BufferOfOne_KeepsOrder()
    {
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), Run(100, 1, 10, 10, 3, 0));
    }
}
