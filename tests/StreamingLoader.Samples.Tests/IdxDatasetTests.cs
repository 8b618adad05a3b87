using System.Buffers.Binary;
using StreamingLoader.Datasets;
using StreamingLoader.Batching;

namespace StreamingLoader.Samples.Tests;

public sealed class IdxDatasetTests : IDisposable
{
    private readonly IdxFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Load_ValidFiles_ReadsShapePixelsAndLabels(bool gzip)
    {
        var images = _files.Write("images", IdxFiles.Images(12, 3, 4), gzip);
        var labels = _files.Write("labels", IdxFiles.Labels(12), gzip);

        var dataset = IdxDataset.Load(images, labels);

        Assert.Equal(12, dataset.Count);
        Assert.Equal([1, 3, 4], dataset.FeatureShape);
        Assert.Empty(dataset.LabelShape);
        Assert.Equal(images, dataset.ImagesPath);
        var sample = dataset.GetItem(5);
        Assert.Equal(5L, sample.Label);
        Assert.Equal(Enumerable.Range(0, 12).Select(k => (byte)((5 * 31) + k)), sample.Features.ToArray());
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (long)(i % 10)), dataset.Labels.ToArray());
    }

    [Fact]
    public void Load_GzipFileWithoutGzName_DetectsCompressionByContent()
    {
        var images = _files.Write("images-idx3-ubyte", IdxFiles.Images(2, 2, 2), gzip: true);
        var labels = _files.Write("labels-idx1-ubyte.gz", IdxFiles.Labels(2), gzip: false);

        var dataset = IdxDataset.Load(images, labels);

        Assert.Equal(2, dataset.Count);
    }

    [Fact]
    public void Load_Int32AndSignedByteLabels_ReadsBigEndianValues()
    {
        var images = _files.Write("images", IdxFiles.Images(3, 2, 2));
        var int32 = new byte[12];
        BinaryPrimitives.WriteInt32BigEndian(int32, 7);
        BinaryPrimitives.WriteInt32BigEndian(int32.AsSpan(4), 70000);
        BinaryPrimitives.WriteInt32BigEndian(int32.AsSpan(8), -1);
        var int32Labels = _files.Write("int32", IdxFiles.Idx(0x0C, [3], int32));
        var sbyteLabels = _files.Write("sbyte", IdxFiles.Idx(0x09, [3], [1, 0xFF, 2]));

        Assert.Equal([7L, 70000L, -1L], IdxDataset.Load(images, int32Labels).Labels.ToArray());
        Assert.Equal([1L, -1L, 2L], IdxDataset.Load(images, sbyteLabels).Labels.ToArray());
    }

    [Fact]
    public void Load_ImagesOfRank1PerSample_KeepsStoredShape()
    {
        var images = _files.Write("vectors", IdxFiles.Idx(0x08, [2, 5], new byte[10]));
        var labels = _files.Write("labels", IdxFiles.Labels(2));

        Assert.Equal([5], IdxDataset.Load(images, labels).FeatureShape);
    }

    [Fact]
    public void Load_ImagesOfRank3PerSample_KeepsStoredShape()
    {
        var images = _files.Write("rgb", IdxFiles.Idx(0x08, [2, 2, 2, 3], new byte[24]));
        var labels = _files.Write("labels", IdxFiles.Labels(2));

        Assert.Equal([2, 2, 3], IdxDataset.Load(images, labels).FeatureShape);
    }

    [Fact]
    public void Load_MissingFile_ThrowsFileNotFoundNamingIt()
    {
        var labels = _files.Write("labels", IdxFiles.Labels(2));
        var missing = Path.Combine(_files.Folder, "nope");

        var error = Assert.Throws<FileNotFoundException>(() => IdxDataset.Load(missing, labels));

        Assert.Equal(missing, error.FileName);
        Assert.Contains(missing, error.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Load_EmptyFile_ThrowsTruncated(bool gzip)
    {
        var images = _files.Write("empty", [], gzip);
        var labels = _files.Write("labels", IdxFiles.Labels(2));

        AssertInvalid(() => IdxDataset.Load(images, labels), images, "truncated", "4-byte IDX magic");
    }

    [Fact]
    public void Load_WrongMagic_ThrowsNotIdx()
    {
        var bytes = IdxFiles.Images(2, 2, 2);
        bytes[0] = 0x50; // "PK": a zip archive, say.
        bytes[1] = 0x4B;
        var images = _files.Write("images", bytes);
        var labels = _files.Write("labels", IdxFiles.Labels(2));

        AssertInvalid(() => IdxDataset.Load(images, labels), images, "not an IDX file", "0x504B0803");
    }

    [Fact]
    public void Load_UnknownTypeCode_ThrowsUnknownType()
    {
        var images = _files.Write("images", IdxFiles.Idx(0x0A, [2, 2, 2], new byte[8]));
        var labels = _files.Write("labels", IdxFiles.Labels(2));

        AssertInvalid(() => IdxDataset.Load(images, labels), images, "unknown IDX element type 0x0A");
    }

    [Fact]
    public void Load_ZeroDimensions_Throws()
    {
        var images = _files.Write("images", IdxFiles.Idx(0x08, [], []));
        var labels = _files.Write("labels", IdxFiles.Labels(2));

        AssertInvalid(() => IdxDataset.Load(images, labels), images, "0 dimensions");
    }

    [Fact]
    public void Load_HeaderCutInsideDimensions_ThrowsTruncated()
    {
        var images = _files.Write("images", IdxFiles.Images(2, 2, 2)[..10]);
        var labels = _files.Write("labels", IdxFiles.Labels(2));

        AssertInvalid(() => IdxDataset.Load(images, labels), images, "truncated", "3 dimension(s) (16 bytes)", "after 10 bytes");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Load_DataShorterThanHeaderSays_ThrowsTruncated(bool gzip)
    {
        var bytes = IdxFiles.Images(4, 2, 2);
        var images = _files.Write("images", bytes[..^3], gzip);
        var labels = _files.Write("labels", IdxFiles.Labels(4));

        AssertInvalid(() => IdxDataset.Load(images, labels), images, "truncated", "needs 16 data bytes", "holds 13");
    }

    [Fact]
    public void Load_LabelsFileTruncated_ThrowsNamingLabelsFile()
    {
        var images = _files.Write("images", IdxFiles.Images(4, 2, 2));
        var labels = _files.Write("labels", IdxFiles.Labels(4)[..^1]);

        AssertInvalid(() => IdxDataset.Load(images, labels), labels, "truncated", "needs 4 data bytes", "holds 3");
    }

    [Fact]
    public void Load_GzipStreamCutShort_ThrowsNamingFile()
    {
        var plain = IdxFiles.Images(200, 28, 28);
        var whole = _files.Write("whole.gz", plain, gzip: true);
        var compressed = File.ReadAllBytes(whole);
        var images = _files.Write("cut.gz", compressed[..(compressed.Length / 2)]);
        var labels = _files.Write("labels", IdxFiles.Labels(200));

        var error = Assert.Throws<InvalidDataException>(() => IdxDataset.Load(images, labels));

        Assert.StartsWith($"'{images}'", error.Message);
    }

    [Fact]
    public void Load_CorruptGzip_ThrowsNamingFile()
    {
        var whole = _files.Write("whole.gz", IdxFiles.Images(50, 28, 28), gzip: true);
        var compressed = File.ReadAllBytes(whole);
        for (var i = 20; i < compressed.Length - 8; i += 7)
        {
            compressed[i] ^= 0x5A;
        }

        var images = _files.Write("corrupt.gz", compressed);
        var labels = _files.Write("labels", IdxFiles.Labels(50));

        var error = Assert.Throws<InvalidDataException>(() => IdxDataset.Load(images, labels));

        Assert.StartsWith($"'{images}'", error.Message);
    }

    [Fact]
    public void Load_BytesAfterTheData_ThrowsHeaderMismatch()
    {
        var images = _files.Write("images", [.. IdxFiles.Images(2, 2, 2), 0, 0]);
        var labels = _files.Write("labels", IdxFiles.Labels(2));

        AssertInvalid(() => IdxDataset.Load(images, labels), images, "data after the 8 bytes its header declares");
    }

    [Fact]
    public void Load_FloatImages_ThrowsWrongElementType()
    {
        var images = _files.Write("images", IdxFiles.Idx(0x0D, [2, 2, 2], new byte[32]));
        var labels = _files.Write("labels", IdxFiles.Labels(2));

        AssertInvalid(() => IdxDataset.Load(images, labels), images, "float32 (0x0D)", "unsigned bytes (0x08)");
    }

    [Fact]
    public void Load_FloatLabels_ThrowsWrongElementType()
    {
        var images = _files.Write("images", IdxFiles.Images(2, 2, 2));
        var labels = _files.Write("labels", IdxFiles.Idx(0x0E, [2], new byte[16]));

        AssertInvalid(() => IdxDataset.Load(images, labels), labels, "float64 (0x0E)", "integers");
    }

    [Fact]
    public void Load_FilesSwapped_ThrowsWrongRank()
    {
        var images = _files.Write("images", IdxFiles.Images(2, 2, 2));
        var labels = _files.Write("labels", IdxFiles.Labels(2));

        AssertInvalid(() => IdxDataset.Load(labels, images), labels, "shape [2]", "Is it a labels file?");
    }

    [Fact]
    public void Load_LabelsOfRank2_ThrowsWrongRank()
    {
        var images = _files.Write("images", IdxFiles.Images(2, 2, 2));
        var labels = _files.Write("labels", IdxFiles.Idx(0x08, [2, 1], [0, 1]));

        AssertInvalid(() => IdxDataset.Load(images, labels), labels, "shape [2, 1]", "1 dimension");
    }

    [Fact]
    public void Load_ZeroSizedSampleDimension_Throws()
    {
        var images = _files.Write("images", IdxFiles.Idx(0x08, [2, 0, 3], []));
        var labels = _files.Write("labels", IdxFiles.Labels(2));

        AssertInvalid(() => IdxDataset.Load(images, labels), images, "size 0");
    }

    [Fact]
    public void Load_HugeDimension_ThrowsInsteadOfAllocating()
    {
        var images = _files.Write("images", IdxFiles.Idx(0x08, [60000, 60000, 28], []));
        var labels = _files.Write("labels", IdxFiles.Labels(2));

        AssertInvalid(() => IdxDataset.Load(images, labels), images, "more than");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Load_HeaderClaimsFarMoreItemsThanTheFileHolds_ThrowsWithoutAllocatingTheClaim(bool gzip)
    {
        var images = _files.Write("images", IdxFiles.Images(4, 2, 2));
        var lying = IdxFiles.Labels(4);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(lying.AsSpan(4), 2_000_000_000);
        var labels = _files.Write("labels", lying, gzip);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<InvalidDataException>(() => IdxDataset.Load(images, labels));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.StartsWith($"'{labels}' is truncated: shape [2000000000]", error.Message);
        Assert.Contains("needs 2000000000 data bytes", error.Message);
        Assert.Contains("holds 4", error.Message);
        Assert.True(allocated < 1 << 20, $"a header claiming 2 GB in a {lying.Length}-byte file made the reader allocate {allocated} bytes");
    }

    [Fact]
    public void Load_RankByteLargerThanTheDimensionsWritten_ThrowsNamingFile()
    {
        var bytes = IdxFiles.Images(3, 4, 4);
        bytes[3] = 4; // the first pixels are read as a fourth dimension
        var images = _files.Write("images", bytes);
        var labels = _files.Write("labels", IdxFiles.Labels(3));

        AssertInvalid(() => IdxDataset.Load(images, labels), images, "truncated", "shape [3, 4, 4, ");
    }

    [Fact]
    public void Load_ZeroImagesWithAHugeSampleShape_ThrowsInsteadOfOverflowing()
    {
        var images = _files.Write("images", IdxFiles.Idx(0x08, [0, 65536, 65536], []));
        var labels = _files.Write("labels", IdxFiles.Labels(0));

        AssertInvalid(() => IdxDataset.Load(images, labels), images, "one sample would take more than");
    }

    [Fact]
    public void Load_GzipOfTheRealDataset_ReadsTheSameAsBefore()
    {
        var images = Path.Combine(FashionMnist.DefaultRoot, "t10k-images-idx3-ubyte.gz");
        var labels = Path.Combine(FashionMnist.DefaultRoot, "t10k-labels-idx1-ubyte.gz");
        var plainImages = _files.Write("images", Decompress(images));

        var zipped = IdxDataset.Load(images, labels);
        var plain = IdxDataset.Load(plainImages, labels);

        Assert.Equal(10000, zipped.Count);
        Assert.Equal(plain.GetItem(9999).Features.ToArray(), zipped.GetItem(9999).Features.ToArray());
        Assert.Equal(plain.GetItem(0).Features.ToArray(), zipped.GetItem(0).Features.ToArray());
    }

    [Fact]
    public void Load_CountMismatch_ThrowsNamingBothFiles()
    {
        var images = _files.Write("images", IdxFiles.Images(5, 2, 2));
        var labels = _files.Write("labels", IdxFiles.Labels(4));

        var error = Assert.Throws<InvalidDataException>(() => IdxDataset.Load(images, labels));

        Assert.Contains($"'{images}' holds 5 images", error.Message);
        Assert.Contains($"'{labels}' holds 4 labels", error.Message);
    }

    [Fact]
    public void GetItem_OutOfRange_Throws()
    {
        var dataset = IdxDataset.Load(_files.Write("images", IdxFiles.Images(2, 2, 2)), _files.Write("labels", IdxFiles.Labels(2)));

        Assert.Throws<ArgumentOutOfRangeException>(() => dataset.GetItem(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => dataset.GetItem(-1));
    }

    [Fact]
    public async Task BytesToFloat_Defaults_WritesPixelsScaledToUnitRange()
    {
        var dataset = IdxDataset.Load(_files.Write("images", IdxFiles.Images(10, 3, 4)), _files.Write("labels", IdxFiles.Labels(10)));
        await using var loader = Pipeline.From(dataset).Build(Collate.BytesToFloat<long>(dataset.FeatureShape), new LoaderOptions { BatchSize = 4, Workers = 2 });

        var batches = 0;
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                Assert.Equal(ElementType.Float32, batch.Features.ElementType);
                Assert.Equal([batch.Count, 1, 3, 4], batch.Features.Shape.ToArray());
                Assert.Equal(ElementType.Int64, batch.Labels.ElementType);
                Assert.Equal([batch.Count], batch.Labels.Shape.ToArray());
                for (var slot = 0; slot < batch.Count; slot++)
                {
                    var index = (int)batch.SampleIndices[slot];
                    var expected = dataset.GetItem(index).Features.ToArray().Select(b => b / 255f);
                    Assert.Equal(expected, batch.Features.Sample<float>(slot).ToArray(), (a, b) => Math.Abs(a - b) < 1e-6f);
                    Assert.Equal(index % 10, batch.Labels.Sample<long>(slot)[0]);
                }
            }

            batches++;
        }

        Assert.Equal(3, batches);
    }

    [Fact]
    public async Task BytesToFloat_MeanAndStd_Normalizes()
    {
        var dataset = IdxDataset.Load(_files.Write("images", IdxFiles.Images(2, 2, 2)), _files.Write("labels", IdxFiles.Labels(2)));
        await using var loader = Pipeline.From(dataset).Build(Collate.BytesToFloat<long>(dataset.FeatureShape, mean: 0.5f, std: 0.25f), new LoaderOptions { BatchSize = 2, Workers = 1 });

        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                var pixels = dataset.GetItem(1).Features.ToArray();
                var expected = pixels.Select(p => ((p / 255f) - 0.5f) / 0.25f);
                Assert.Equal(expected, batch.Features.Sample<float>(1).ToArray(), (a, b) => Math.Abs(a - b) < 1e-5f);
            }
        }
    }

    [Fact]
    public void FashionMnistLoad_InstalledDataset_HasTheKnownCountsShapeAndBalancedClasses()
    {
        var train = FashionMnist.Load(train: true);
        var test = FashionMnist.Load(train: false);

        Assert.Equal(60000, train.Count);
        Assert.Equal(10000, test.Count);
        Assert.Equal([1, 28, 28], train.FeatureShape);
        Assert.EndsWith("train-images-idx3-ubyte.gz", train.ImagesPath);
        Assert.EndsWith("t10k-labels-idx1-ubyte.gz", test.LabelsPath);
        var counts = new int[10];
        foreach (var label in train.Labels)
        {
            counts[label]++;
        }

        Assert.All(counts, c => Assert.Equal(6000, c));
        Assert.Equal(10, FashionMnist.ClassNames.Count);
    }

    [Fact]
    public void FashionMnistLoad_FolderWithoutFiles_ThrowsWithInstallHint()
    {
        var error = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(_files.Folder));

        Assert.Contains("apt-get install dataset-fashion-mnist", error.Message);
        Assert.Contains("train-images-idx3-ubyte", error.Message);
    }

    [Fact]
    public void FashionMnistLoad_TorchvisionLayoutWithPlainFiles_Loads()
    {
        var raw = Directory.CreateDirectory(Path.Combine(_files.Folder, "FashionMNIST", "raw")).FullName;
        File.WriteAllBytes(Path.Combine(raw, "t10k-images-idx3-ubyte"), IdxFiles.Images(3, 28, 28));
        File.WriteAllBytes(Path.Combine(raw, "t10k-labels-idx1-ubyte"), IdxFiles.Labels(3));

        var test = FashionMnist.Load(_files.Folder, train: false);

        Assert.Equal(3, test.Count);
    }

    private static byte[] Decompress(string path)
    {
        using var zip = new System.IO.Compression.GZipStream(File.OpenRead(path), System.IO.Compression.CompressionMode.Decompress);
        using var plain = new MemoryStream();
        zip.CopyTo(plain);
        return plain.ToArray();
    }

    private static void AssertInvalid(Action load, string path, params string[] fragments)
    {
        var error = Assert.Throws<InvalidDataException>(load);
        Assert.StartsWith($"'{path}'", error.Message);
        foreach (var fragment in fragments)
        {
            Assert.Contains(fragment, error.Message);
        }
    }
}
