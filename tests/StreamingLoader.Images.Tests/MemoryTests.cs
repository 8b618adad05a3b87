using System.Diagnostics.Metrics;
using SkiaSharp;
using StreamingLoader.Batching;
using StreamingLoader.Images.Decoding;
using StreamingLoader.Telemetry;

namespace StreamingLoader.Images.Tests;

/// <summary>
/// Memory for outliers: while an image decodes its worker holds the file and at most 4 bytes a pixel; afterwards a
/// buffer far larger than what the worker's recent images needed goes back.
/// </summary>
/// <remarks>
/// Run alone: the decoder test counts decodes with a process-wide <see cref="System.Diagnostics.Metrics.MeterListener"/>,
/// which would also count the images other test classes decode at the same time (some with Skia on purpose).
/// </remarks>
[Collection(nameof(MemoryTests))]
public sealed class MemoryTests(TorchvisionReference reference) : IClassFixture<TorchvisionReference>, IDisposable
{
    private const int OutlierWidth = 4000;
    private const int OutlierHeight = 3000;
    private readonly string _root = Directory.CreateTempSubdirectory("sl-memory-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Process_AfterAnOutlier_BuffersShrinkBackToTheUsual()
    {
        var processor = ImageProcessor.Create(Transform(), new ImageFolderOptions());
        var usual = Path.Combine(reference.Folder, "cat", "a.jpg");
        var outlier = WriteOutlier();
        var destination = new float[3 * 224 * 224];
        for (var i = 0; i < 10; i++)
        {
            processor.Process(usual, default, destination, 224, 224);
        }

        var before = processor.Workspaces.RetainedBytes;

        processor.Process(outlier, default, destination, 224, 224);
        var after = processor.Workspaces.RetainedBytes;

        // The outlier needed 4 bytes a pixel (48 MB); it was released as soon as it was done.
        Assert.True(processor.Workspaces.PeakBytesPerWorkspace >= 4L * OutlierWidth * OutlierHeight);
        Assert.True(after <= Math.Max(before * 2, 1 << 20), $"{after:N0} bytes kept after the outlier, {before:N0} before it");
        processor.Process(usual, default, destination, 224, 224);
        Assert.True(processor.Workspaces.RetainedBytes <= Math.Max(before * 2, 1 << 20));
        Assert.Equal(1, processor.Workspaces.Count);
    }

    [Fact]
    public void Process_SizesThatAlternate_KeepTheirBuffers()
    {
        // Half the images large: the large size is the usual, so nothing is released and reallocated each time.
        var processor = ImageProcessor.Create(Transform(), new ImageFolderOptions());
        var small = Path.Combine(reference.Folder, "cat", "a.jpg");
        var large = Path.Combine(reference.Folder, "cat", "B.JPG");
        var destination = new float[3 * 224 * 224];
        for (var i = 0; i < 40; i++)
        {
            processor.Process(i % 2 == 0 ? small : large, default, destination, 224, 224);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 20; i++)
        {
            processor.Process(i % 2 == 0 ? small : large, default, destination, 224, 224);
        }

        Assert.True((GC.GetAllocatedBytesForCurrentThread() - allocated) / 20 < 4096);
    }

    [Fact]
    public void EndImage_TwoOutliersAmongTheFirstImages_TheirBufferReleased()
    {
        // A workspace lent to few images, two of them outliers (which workspace gets which image depends on the
        // workers' timing): what the usual images need decides, not a percentile of six.
        var workspace = new Workspace();
        foreach (var outlier in new[] { false, false, false, true, false, true })
        {
            workspace.EnsurePixels(outlier ? 64L << 20 : 300 * 250 * 4);
            workspace.EndImage();
        }

        Assert.Equal(0, workspace.RetainedBytes);
    }

    [Fact]
    public async Task ReadEpoch_TwoWorkersAndOutliers_PeakWithinTheFormulaAndReleasedAfter()
    {
        // The documented bound: Workers × (4 × MaxPixels + the largest file) while decoding; usual images' buffers after.
        var classes = Path.Combine(_root, "folder", "a");
        Directory.CreateDirectory(classes);
        var usual = File.ReadAllBytes(Path.Combine(reference.Folder, "cat", "a.jpg"));
        for (var i = 0; i < 40; i++)
        {
            File.WriteAllBytes(Path.Combine(classes, $"{i:D2}.jpg"), usual);
        }

        var outlier = WriteOutlier();
        File.Copy(outlier, Path.Combine(classes, "10-outlier.png"));
        File.Copy(outlier, Path.Combine(classes, "30-outlier.png"));
        const long MaxPixels = (long)OutlierWidth * OutlierHeight;
        const int Workers = 2;
        var folder = ImageFolder.Load(Path.Combine(_root, "folder"), new ImageFolderOptions { MaxPixels = MaxPixels });
        var collator = (ImageCollator)Collate.Images(folder, Transform());
        await using (var loader = StreamingLoader.Pipeline.From(folder).Transform(static (file, context) => new ImageSample(file, context)).Build(collator, new LoaderOptions { BatchSize = 4, Workers = Workers }))
        {
            await foreach (var batch in loader.ReadEpochAsync())
            {
                batch.Dispose();
            }
        }

        var pool = collator.Processor.Workspaces;
        var largestFile = new FileInfo(outlier).Length;
        Assert.InRange(pool.Count, 1, Workers);
        Assert.True(pool.PeakBytesPerWorkspace * pool.Count <= Workers * ((4 * MaxPixels) + largestFile), $"peak {pool.PeakBytesPerWorkspace:N0} bytes in each of {pool.Count} workspaces");
        Assert.True(pool.RetainedBytes <= pool.Count * Math.Max(1 << 20, 2 * ((3L * 300 * 250) + usual.Length)), $"{pool.RetainedBytes:N0} bytes kept after the epoch");
    }

    [Fact]
    public async Task Load_Defaults_DecodeJpegsWithLibjpegTurboAndSayItInTheMetric()
    {
        // Fails where libturbojpeg is missing (scripts/test.sh installs libturbojpeg0): the loader would run on Skia.
        var folder = ImageFolder.Load(reference.Folder);
        Assert.Equal(JpegDecoder.TurboJpeg, folder.JpegDecoder);
        Assert.Contains("libjpeg-turbo", folder.ToString(), StringComparison.Ordinal);

        var decoded = new List<(string Decoder, string Format)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == LoaderMetrics.MeterName && instrument.Name == "streamingloader.images.decoded")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            string? decoder = null, format = null;
            foreach (var tag in tags)
            {
                (decoder, format) = tag.Key == "decoder" ? ((string)tag.Value!, format) : tag.Key == "format" ? (decoder, (string)tag.Value!) : (decoder, format);
            }

            lock (decoded)
            {
                decoded.Add((decoder!, format!));
            }
        });
        listener.Start();
        await using (var loader = folder.CreateLoader(Transform(), new LoaderOptions { BatchSize = 4, Workers = 2 }))
        {
            await foreach (var batch in loader.ReadEpochAsync())
            {
                batch.Dispose();
            }
        }

        lock (decoded)
        {
            Assert.Contains(("turbojpeg", "jpeg"), decoded);
            Assert.Contains(("skia", "png"), decoded);
            Assert.DoesNotContain(("skia", "jpeg"), decoded);
        }
    }

    private static ImageTransform Transform() => ImageTransform.Compose(ImageTransform.Resize(256), ImageTransform.CenterCrop(224), ImageTransform.ToTensor());

    private string WriteOutlier()
    {
        var path = Path.Combine(_root, "outlier.png");
        if (!File.Exists(path))
        {
            using var bitmap = new SKBitmap(OutlierWidth, OutlierHeight);
            using (var canvas = new SKCanvas(bitmap))
            using (var paint = new SKPaint { Shader = SKShader.CreateLinearGradient(new SKPoint(0, 0), new SKPoint(OutlierWidth, OutlierHeight), [SKColors.Navy, SKColors.Orange], SKShaderTileMode.Clamp) })
            {
                canvas.DrawRect(0, 0, OutlierWidth, OutlierHeight, paint);
            }

            using var data = bitmap.Encode(SKEncodedImageFormat.Png, 1);
            File.WriteAllBytes(path, data.ToArray());
        }

        return path;
    }
}

/// <summary>The memory tests' collection: run with no other test class in parallel.</summary>
[CollectionDefinition(nameof(MemoryTests), DisableParallelization = true)]
public sealed class MemoryTestsRunAlone;
