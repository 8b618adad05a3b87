using StreamingLoader.Datasets;

namespace StreamingLoader.Tests;

public class DatasetTests
{
    [Fact]
    public void TensorDataset_AnyShape_SlicesSamplesWithoutCopy()
    {
        var x = Enumerable.Range(0, 24).Select(i => (float)i).ToArray();
        var y = Enumerable.Range(0, 4).Select(i => (float)(i * 10)).ToArray();
        var dataset = new TensorDataset<float, float>(x, [2, 3], y, [1]);
        Assert.Equal(4, dataset.Count);
        var sample = dataset.GetItem(2);
        Assert.Equal([12f, 13, 14, 15, 16, 17], sample.Features.ToArray());
        Assert.False(sample.IsScalarLabel);
        Assert.Equal(20f, sample.Label);
        Assert.Equal([2, 3], dataset.FeatureShape);
    }

    [Fact]
    public void TensorDataset_MismatchedLengths_ThrowWithShapes()
    {
        var features = Assert.Throws<ArgumentException>(() => new TensorDataset<float, long>(new float[10], [3], new long[3]));
        Assert.Contains("[3]", features.Message, StringComparison.Ordinal);
        var labels = Assert.Throws<ArgumentException>(() => new TensorDataset<float, long>(new float[9], [3], new long[4]));
        Assert.Contains("need 3", labels.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => TestData.Tensor(3).GetItem(3));
    }

    [Fact]
    public void SubsetConcatAndRandomSplit_KeepEverySampleOnce()
    {
        var dataset = Dataset.FromFunc(10, i => i);
        var subset = Dataset.Subset(dataset, [9, 0, 5]);
        Assert.Equal([9, 0, 5], Enumerable.Range(0, subset.Count).Select(subset.GetItem));
        var concat = Dataset.Concat(subset, Dataset.FromFunc(0, i => i), Dataset.FromFunc(2, i => 100 + i));
        Assert.Equal([9, 0, 5, 100, 101], Enumerable.Range(0, concat.Count).Select(concat.GetItem));
        var parts = Dataset.RandomSplit(dataset, [7, 3], seed: 4);
        var all = parts.SelectMany(p => Enumerable.Range(0, p.Count).Select(p.GetItem)).Order();
        Assert.Equal(Enumerable.Range(0, 10), all);
        Assert.Throws<ArgumentException>(() => Dataset.RandomSplit(dataset, [7, 4], seed: 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => Dataset.Subset(dataset, [10]));
    }
}
