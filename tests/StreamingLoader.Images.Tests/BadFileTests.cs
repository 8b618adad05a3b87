using StreamingLoader.Images.Decoding;

namespace StreamingLoader.Images.Tests;

/// <summary>Files that are not decodable images: a clear error naming the file, or a dead letter under Skip; never a crash.</summary>
public sealed class BadFileTests : IClassFixture<TorchvisionReference>, IDisposable
{
    private static readonly string[] s_bad = ["truncated.jpg", "corrupt-header.jpg", "empty.jpg", "text.jpg", "truncated.ppm", "bomb.jpg"];
    private readonly string _root;

    public BadFileTests(TorchvisionReference reference)
    {
        _root = Path.Combine(Path.GetTempPath(), "sl-bad-" + Guid.NewGuid().ToString("N"));
        var good = File.ReadAllBytes(Path.Combine(reference.Folder, "cat", "a.jpg"));
        var png = File.ReadAllBytes(Path.Combine(reference.Folder, "dog", "rgba.png"));
        var bad = Path.Combine(_root, "bad");
        var fine = Path.Combine(_root, "fine");
        Directory.CreateDirectory(bad);
        Directory.CreateDirectory(fine);
        for (var i = 0; i < 3; i++)
        {
            File.WriteAllBytes(Path.Combine(fine, $"good{i}.jpg"), good);
        }

        File.WriteAllBytes(Path.Combine(fine, "good.png"), png);
        File.WriteAllBytes(Path.Combine(bad, "truncated.jpg"), good[..(good.Length * 6 / 10)]);
        File.WriteAllBytes(Path.Combine(bad, "corrupt-header.jpg"), CorruptFrameHeader(good));
        File.WriteAllBytes(Path.Combine(bad, "empty.jpg"), []);
        File.WriteAllText(Path.Combine(bad, "text.jpg"), "this is a text file, not a JPEG\n");
        File.WriteAllBytes(Path.Combine(bad, "truncated.ppm"), [.. "P6\n4 4\n255\n"u8.ToArray(), .. new byte[40]]);
        File.WriteAllBytes(Path.Combine(bad, "bomb.jpg"), DeclareSize(good, 65000, 65000));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("truncated.jpg", "truncated", JpegDecoder.TurboJpeg)]
    [InlineData("truncated.jpg", "truncated", JpegDecoder.Skia)]
    [InlineData("corrupt-header.jpg", "header is corrupt", JpegDecoder.TurboJpeg)]
    [InlineData("corrupt-header.jpg", "header is corrupt", JpegDecoder.Skia)]
    [InlineData("empty.jpg", "empty", JpegDecoder.Auto)]
    [InlineData("text.jpg", "not an image", JpegDecoder.Auto)]
    [InlineData("truncated.ppm", "truncated", JpegDecoder.Auto)]
    [InlineData("bomb.jpg", "decompression bomb", JpegDecoder.TurboJpeg)]
    [InlineData("bomb.jpg", "decompression bomb", JpegDecoder.Skia)]
    public void Process_BadFile_ThrowsInvalidDataExceptionNamingTheFile(string name, string what, JpegDecoder decoder)
    {
        var processor = ImageProcessor.Create(ImageTransform.Compose(ImageTransform.RandomResizedCrop(64), ImageTransform.ToTensor()), new ImageFolderOptions { JpegDecoder = decoder });
        var path = Path.Combine(_root, "bad", name);

        var error = Assert.Throws<InvalidDataException>(() => processor.Process(path, default, new float[3 * 64 * 64], 64, 64));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains(what, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Process_GoodFilesAfterEachBadOne_DecodedByLibjpegTurboBitForBitAsByAFreshDecoder()
    {
        // One decoder per workspace: a bad file must not leave it broken for the next, good one (which would then go to
        // Skia, or come out different).
        var transform = ImageTransform.Compose(ImageTransform.CenterCrop(32), ImageTransform.ToTensor());
        var options = new ImageFolderOptions { JpegDecoder = JpegDecoder.TurboJpeg };
        var processor = ImageProcessor.Create(transform, options);
        var goodJpeg = Path.Combine(_root, "fine", "good0.jpg");
        var goodPng = Path.Combine(_root, "fine", "good.png");
        var expectedJpeg = new float[3 * 32 * 32];
        var expectedPng = new float[3 * 32 * 32];
        ImageProcessor.Create(transform, options).Process(goodJpeg, default, expectedJpeg, 32, 32);
        ImageProcessor.Create(transform, options).Process(goodPng, default, expectedPng, 32, 32);
        var destination = new float[3 * 32 * 32];
        var bytes = File.ReadAllBytes(goodJpeg);
        var random = new Random(3);
        var rejected = 0;
        for (var trial = 0; trial < 200; trial++)
        {
            var bad = Path.Combine(_root, "bad", trial < s_bad.Length ? s_bad[trial] : $"mutated{trial}.jpg");
            if (trial >= s_bad.Length)
            {
                var mutated = (byte[])bytes.Clone();
                for (var i = 0; i < 1 + random.Next(8); i++)
                {
                    mutated[random.Next(mutated.Length)] ^= (byte)(1 << random.Next(8));
                }

                File.WriteAllBytes(bad, random.Next(4) == 0 ? mutated[..random.Next(mutated.Length)] : mutated);
            }

            try
            {
                processor.Process(bad, default, destination, 32, 32);
            }
            catch (InvalidDataException)
            {
                rejected++;
            }

            Array.Clear(destination);
            var jpeg = processor.Process(goodJpeg, default, destination, 32, 32);
            Assert.Equal((ImageCodec.TurboJpeg, (string?)null), (jpeg.Codec, jpeg.Warning));
            Assert.True(destination.AsSpan().SequenceEqual(expectedJpeg), $"after {Path.GetFileName(bad)} the good JPEG decoded differently");
            Array.Clear(destination);
            processor.Process(goodPng, default, destination, 32, 32);
            Assert.True(destination.AsSpan().SequenceEqual(expectedPng), $"after {Path.GetFileName(bad)} the good PNG decoded differently");
        }

        Assert.True(rejected >= 40, $"only {rejected} of the 200 damaged files were rejected");
    }

    [Fact]
    public void Process_ImageAboveConfiguredPixelLimit_IsRefusedBeforeDecoding()
    {
        var processor = ImageProcessor.Create(ImageTransform.Compose(ImageTransform.CenterCrop(8), ImageTransform.ToTensor()), new ImageFolderOptions { MaxPixels = 10_000 });
        var path = Path.Combine(_root, "fine", "good0.jpg");

        var error = Assert.Throws<InvalidDataException>(() => processor.Process(path, default, new float[3 * 8 * 8], 8, 8));

        Assert.Contains("10,000", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadEpoch_SkipPolicy_DeadLettersEveryBadFileAndDeliversTheRest()
    {
        var folder = Folder();
        await using var loader = folder.CreateLoader(Transform(), new LoaderOptions { BatchSize = 4, Workers = 2, Shuffle = true, Seed = 3, ErrorPolicy = ErrorPolicy.Skip });

        var labels = new List<long>();
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                labels.AddRange(batch.Labels.AsSpan<long>().ToArray());
            }
        }

        Assert.Equal(Enumerable.Repeat((long)folder.ClassToIndex["fine"], 4), labels);
        // The loader may already be reading ahead into the next epoch: count this one's.
        var dead = loader.DeadLetters.Where(d => d.Epoch == 0).OrderBy(d => d.SampleIndex).ToArray();
        Assert.Equal(s_bad.Length, dead.Length);
        foreach (var letter in dead)
        {
            var path = folder.Samples[(int)letter.SampleIndex].Path;
            Assert.Contains(path, letter.Error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ReadEpoch_FailPolicy_FaultsWithTheSampleIndexAndFile()
    {
        var folder = Folder();
        await using var loader = folder.CreateLoader(Transform(), new LoaderOptions { BatchSize = 4, Workers = 2 });

        var error = await Assert.ThrowsAsync<DataLoaderException>(async () =>
        {
            await foreach (var batch in loader.ReadEpochAsync())
            {
                batch.Dispose();
            }
        });

        var bad = folder.Samples.Select((s, i) => (s, i)).First(p => p.s.Label == folder.ClassToIndex["bad"]);
        Assert.Contains(Path.GetFileName(bad.s.Path), error.ToString(), StringComparison.Ordinal);
    }

    private static ImageTransform Transform() => ImageTransform.Compose(ImageTransform.RandomResizedCrop(32), ImageTransform.RandomHorizontalFlip(), ImageTransform.ToTensor());

    private ImageFolder Folder() => ImageFolder.Load(_root, new ImageFolderOptions { Extensions = [".jpg", ".png", ".ppm"] });

    /// <summary>A copy of a JPEG whose SOF segment declares a length too short to hold the frame.</summary>
    private static byte[] CorruptFrameHeader(byte[] jpeg)
    {
        var copy = (byte[])jpeg.Clone();
        for (var i = 2; i < copy.Length - 4; i++)
        {
            if (copy[i] == 0xFF && copy[i + 1] is 0xC0 or 0xC2)
            {
                copy[i + 2] = 0;
                copy[i + 3] = 3;
                return copy;
            }
        }

        throw new InvalidOperationException("No SOF marker found.");
    }

    /// <summary>A copy of a JPEG whose SOF marker declares another size.</summary>
    private static byte[] DeclareSize(byte[] jpeg, int width, int height)
    {
        var copy = (byte[])jpeg.Clone();
        for (var i = 2; i < copy.Length - 9; i++)
        {
            if (copy[i] == 0xFF && copy[i + 1] is 0xC0 or 0xC2)
            {
                copy[i + 5] = (byte)(height >> 8);
                copy[i + 6] = (byte)height;
                copy[i + 7] = (byte)(width >> 8);
                copy[i + 8] = (byte)width;
                return copy;
            }
        }

        throw new InvalidOperationException("No SOF marker found.");
    }
}
