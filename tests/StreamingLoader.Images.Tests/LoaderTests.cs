using StreamingLoader.Batching;

namespace StreamingLoader.Images.Tests;

/// <summary>The image folder through the real loader: batches, labels, reproducible augmentation, allocation.</summary>
public class LoaderTests(TorchvisionReference reference) : IClassFixture<TorchvisionReference>
{
    private static readonly float[] s_mean = [0.485f, 0.456f, 0.406f];
    private static readonly float[] s_std = [0.229f, 0.224f, 0.225f];

    private static ImageTransform Tutorial() => ImageTransform.Compose(
        ImageTransform.Resize(256), ImageTransform.CenterCrop(224), ImageTransform.ToTensor(), ImageTransform.Normalize(s_mean, s_std));

    private static ImageTransform Augment() => ImageTransform.Compose(
        ImageTransform.RandomResizedCrop(96), ImageTransform.RandomHorizontalFlip(), ImageTransform.ToTensor(), ImageTransform.Normalize(s_mean, s_std));

    [Fact]
    public async Task CreateLoader_TutorialPipeline_WritesEachImageAndLabelIntoItsSlot()
    {
        var folder = ImageFolder.Load(reference.Folder);
        await using var loader = folder.CreateLoader(Tutorial(), new LoaderOptions { BatchSize = 3, Workers = 2 });
        var processor = ImageProcessor.Create(Tutorial(), new ImageFolderOptions());
        var expected = new float[3 * 224 * 224];

        var seen = 0;
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                Assert.Equal([batch.Count, 3, 224, 224], batch.Features.Shape.ToArray());
                for (var slot = 0; slot < batch.Count; slot++)
                {
                    var file = folder.Samples[seen + slot];
                    Assert.Equal(file.Label, batch.Labels.Sample<long>(slot)[0]);
                    processor.Process(file.Path, default, expected, 224, 224);
                    Assert.True(expected.AsSpan().SequenceEqual(batch.Features.Sample<float>(slot)), $"slot {slot} of batch at {seen} differs from {file.Path} processed alone.");
                }

                seen += batch.Count;
            }
        }

        Assert.Equal(folder.Count, seen);
    }

    [Fact]
    public async Task CreateLoader_RandomAugmentation_SameBatchesAtAnyWorkerCountAndNewCropsEachEpoch()
    {
        var folder = ImageFolder.Load(reference.Folder);
        var one = await ReadAsync(folder, workers: 1, epochs: 2);
        var three = await ReadAsync(folder, workers: 3, epochs: 2);

        Assert.Equal(one.Count, three.Count);
        for (var i = 0; i < one.Count; i++)
        {
            Assert.True(one[i].SequenceEqual(three[i]), $"batch {i} differs between 1 and 3 workers.");
        }

        // Epoch 1 reshuffles and redraws the crops: its batches are not epoch 0's.
        Assert.False(one[0].SequenceEqual(one[one.Count / 2]));
    }

    [Fact]
    public async Task CreateLoader_Grayscale_GivesOneChannel()
    {
        var folder = ImageFolder.Load(reference.Folder, new ImageFolderOptions { ColorMode = ImageColorMode.Grayscale });
        await using var loader = folder.CreateLoader(
            ImageTransform.Compose(ImageTransform.Resize(40), ImageTransform.CenterCrop(32), ImageTransform.ToTensor(), ImageTransform.Normalize([0.5f], [0.25f])),
            new LoaderOptions { BatchSize = 8, Workers = 2 });

        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                Assert.Equal([8, 1, 32, 32], batch.Features.Shape.ToArray());
                Assert.All(batch.Features.AsSpan<float>().ToArray(), v => Assert.InRange(v, -2f - 1e-4f, 2f + 1e-4f));
            }
        }
    }

    [Fact]
    public async Task CreateLoader_SizeThatVariesByImage_RejectsTheImagesThatDoNotFitTheFirstOnesSize()
    {
        var folder = ImageFolder.Load(reference.Folder);
        await using var loader = folder.CreateLoader(ImageTransform.Compose(ImageTransform.Resize(64), ImageTransform.ToTensor()), new LoaderOptions { BatchSize = 8, Workers = 1, ErrorPolicy = ErrorPolicy.Skip });

        var delivered = 0;
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                delivered += batch.Count;
            }
        }

        var rejected = loader.DeadLetters.Where(d => d.Epoch == 0).ToArray();
        Assert.NotEmpty(rejected);
        Assert.Equal(folder.Count, delivered + rejected.Length);
        Assert.All(rejected, d => Assert.Contains("end the transforms with a crop", d.Error.Message, StringComparison.Ordinal));
    }

    [Fact]
    public void Process_SteadyState_AllocatesNothingProportionalToPixels()
    {
        var folder = ImageFolder.Load(reference.Folder);
        var processor = ImageProcessor.Create(Tutorial(), new ImageFolderOptions());
        var destination = new float[3 * 224 * 224];
        var jpeg = folder.Samples.First(s => s.Path.EndsWith(".jpg", StringComparison.Ordinal)).Path;
        var png = folder.Samples.First(s => s.Path.EndsWith(".png", StringComparison.Ordinal)).Path;
        foreach (var path in new[] { jpeg, png })
        {
            for (var i = 0; i < 5; i++)
            {
                processor.Process(path, default, destination, 224, 224);
            }

            var before = GC.GetAllocatedBytesForCurrentThread();
            const int Runs = 20;
            for (var i = 0; i < Runs; i++)
            {
                processor.Process(path, default, destination, 224, 224);
            }

            var perImage = (GC.GetAllocatedBytesForCurrentThread() - before) / Runs;

            // The output alone is 602,112 bytes; what remains is a file handle and, for Skia, its codec wrappers.
            Assert.True(perImage < 2048, $"{Path.GetFileName(path)}: {perImage} bytes allocated per image at steady state.");
        }
    }

    [Fact]
    public void Create_MisorderedTransforms_ThrowsArgumentExceptionThatSaysWhy()
    {
        var folder = ImageFolder.Load(reference.Folder);

        var noTensor = Assert.Throws<ArgumentException>(() => Collate.Images(folder, ImageTransform.CenterCrop(10)));
        Assert.Contains("ToTensor", noTensor.Message, StringComparison.Ordinal);
        var twice = Assert.Throws<ArgumentException>(() => Collate.Images(folder, ImageTransform.Compose(
            ImageTransform.Resize(10), ImageTransform.RandomResizedCrop(8), ImageTransform.ToTensor())));
        Assert.Contains("more than once", twice.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => Collate.Images(folder, ImageTransform.Compose(
            ImageTransform.ToTensor(), ImageTransform.CenterCrop(10))));
        Assert.Throws<ArgumentException>(() => Collate.Images(folder, ImageTransform.Compose(
            ImageTransform.CenterCrop(10), ImageTransform.ToTensor(), ImageTransform.Normalize([0.5f, 0.5f], [1f, 1f]))));
    }

    [Fact]
    public void Load_ExtensionsAndPredicate_SelectFilesAndReportEmptyClasses()
    {
        var pngs = ImageFolder.Load(reference.Folder, new ImageFolderOptions { IsValidFile = p => !p.Contains("Zebra", StringComparison.Ordinal) || p.EndsWith(".txt", StringComparison.Ordinal) });
        Assert.Contains(pngs.Samples, s => s.Path.EndsWith("notes.txt", StringComparison.Ordinal));

        var error = Assert.Throws<FileNotFoundException>(() => ImageFolder.Load(reference.Folder, new ImageFolderOptions { Extensions = [".png"] }));
        Assert.Contains("Zebra", error.Message, StringComparison.Ordinal);
        Assert.Throws<DirectoryNotFoundException>(() => ImageFolder.Load(Path.Combine(reference.Root, "missing")));
    }

    private static async Task<List<float[]>> ReadAsync(ImageFolder folder, int workers, int epochs)
    {
        var batches = new List<float[]>();
        await using var loader = folder.CreateLoader(Augment(), new LoaderOptions { BatchSize = 4, Workers = workers, Shuffle = true, Seed = 11 });
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            await foreach (var batch in loader.ReadEpochAsync())
            {
                using (batch)
                {
                    batches.Add(batch.Features.AsSpan<float>().ToArray());
                }
            }
        }

        return batches;
    }
}
