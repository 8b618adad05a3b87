using FsCheck;
using FsCheck.Fluent;

namespace StreamingLoader.Tests;

public class PipelinePropertyTests
{
    [Fact]
    public void AnyConfiguration_EveryIndexOncePerEpoch_PartialBatchOnlyLast()
    {
        var configurations =
            from count in Gen.Choose(0, 300)
            from batchSize in Gen.Choose(1, 40)
            from workers in Gen.Choose(1, 4)
            from shuffle in ArbMap.Default.GeneratorFor<bool>()
            from dropLast in ArbMap.Default.GeneratorFor<bool>()
            from ordered in ArbMap.Default.GeneratorFor<bool>()
            select (count, batchSize, workers, shuffle, dropLast, ordered);
        Prop.ForAll(
            configurations.ToArbitrary(),
            c =>
            {
                var options = new LoaderOptions { BatchSize = c.batchSize, Workers = c.workers, Shuffle = c.shuffle, DropLast = c.dropLast, Ordered = c.ordered, Seed = 5 };
                using var loader = Pipeline.From(TestData.Tensor(c.count, features: 2)).Build(options);
                for (var epoch = 0; epoch < 2; epoch++)
                {
                    var sizes = new List<int>();
                    var labels = new List<long>();
                    foreach (var batch in loader.ReadEpochAsync().ToBlockingEnumerable())
                    {
                        using (batch)
                        {
                            if (batch.Epoch != epoch)
                            {
                                return false;
                            }

                            sizes.Add(batch.Count);
                            labels.AddRange(batch.Labels.AsSpan<long>().ToArray());
                        }
                    }

                    var expected = c.dropLast ? c.count / c.batchSize * c.batchSize : c.count;
                    // Ordered: only the last batch may be partial; unordered: at most one is, wherever it lands.
                    var full = c.ordered
                        ? sizes.Take(Math.Max(0, sizes.Count - 1)).All(n => n == c.batchSize)
                        : sizes.Count(n => n != c.batchSize) <= 1;
                    if (!full || labels.Count != expected || labels.Distinct().Count() != expected || (c.ordered && !c.shuffle && !labels.SequenceEqual(Enumerable.Range(0, expected).Select(i => (long)i))))
                    {
                        return false;
                    }
                }

                return true;
            }).Check(Config.QuickThrowOnFailure.WithMaxTest(60));
    }
}
