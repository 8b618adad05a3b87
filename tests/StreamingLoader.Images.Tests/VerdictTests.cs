using System.Diagnostics.Metrics;
using System.Text.Json;
using StreamingLoader.Images.Decoding;
using Xunit.Abstractions;
using StreamingLoader.Telemetry;

namespace StreamingLoader.Images.Tests;

/// <summary>Runs verdicts.py once: damaged JPEG and PNG files, and whether PIL (torchvision's loader) accepts each.</summary>
public sealed class VerdictCorpus : IDisposable
{
    public VerdictCorpus() => (Root, Manifest) = PythonScript.Run("verdicts.py", "sl-verdicts-", "verdicts.json");

    public string Root { get; }

    public JsonElement Manifest { get; }

    public IEnumerable<(string Path, bool Accepted, string PilError)> Files =>
        Manifest.EnumerateObject().Select(f => (Path.Combine(Root, f.Name), f.Value.GetProperty("accepted").GetBoolean(), f.Value.TryGetProperty("error", out var e) ? e.GetString()! : string.Empty));

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>
/// One verdict per file: a damaged file is accepted or rejected as PIL does, with the same message whichever JPEG
/// decoder runs; warnings are counted and reported, not fatal.
/// </summary>
public sealed class VerdictTests(VerdictCorpus corpus, ITestOutputHelper output) : IClassFixture<VerdictCorpus>
{
    [Theory]
    [InlineData(JpegDecoder.TurboJpeg)]
    [InlineData(JpegDecoder.Skia)]
    public void Process_DamagedFiles_AcceptedOrRejectedAsPil(JpegDecoder decoder)
    {
        var mismatches = new List<string>();
        foreach (var (path, accepted, pilError) in corpus.Files)
        {
            var (ours, message, _) = Verdict(decoder, path);
            output.WriteLine($"{Path.GetFileName(path),-50} PIL {(accepted ? "accepts" : "rejects")}, ours {(ours ? "accepts" : "rejects: " + message)}");
            if (ours != accepted)
            {
                mismatches.Add($"{Path.GetFileName(path)}: PIL {(accepted ? "accepts it" : $"rejects it ({pilError})")}, {decoder} {(ours ? "accepts it" : $"rejects it ({message})")}");
            }
        }

        Assert.True(mismatches.Count == 0, string.Join('\n', mismatches));
        Assert.Contains(corpus.Files, f => f.Accepted && f.Path.Contains("corrupt-entropy", StringComparison.Ordinal));
        Assert.Contains(corpus.Files, f => !f.Accepted && f.Path.Contains("truncated", StringComparison.Ordinal));
    }

    [Fact]
    public void Process_DamagedJpegs_SameVerdictAndMessageWithOrWithoutLibjpegTurbo()
    {
        foreach (var (path, _, _) in corpus.Files)
        {
            var turbo = Verdict(JpegDecoder.TurboJpeg, path);
            var skia = Verdict(JpegDecoder.Skia, path);

            Assert.Equal((skia.Accepted, skia.Message), (turbo.Accepted, turbo.Message));
            if (!turbo.Accepted)
            {
                Assert.Contains(path, turbo.Message, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void Process_JpegWithWarnings_AcceptedCountedAndReported()
    {
        var reported = new List<(string Path, string Message)>();
        var processor = ImageProcessor.Create(
            ImageTransform.Compose(ImageTransform.Resize(64), ImageTransform.CenterCrop(64), ImageTransform.ToTensor()),
            new ImageFolderOptions { JpegDecoder = JpegDecoder.TurboJpeg, OnWarning = (path, message) => reported.Add((path, message)) });
        var counted = new List<(long Value, string Decoder)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == LoaderMetrics.MeterName && instrument.Name == "streamingloader.images.warnings")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        // Only this thread's decodes: the listener is process-wide, and other test classes decode at the same time.
        var thread = Environment.CurrentManagedThreadId;
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "decoder" && Environment.CurrentManagedThreadId == thread)
                {
                    lock (counted)
                    {
                        counted.Add((value, (string)tag.Value!));
                    }
                }
            }
        });
        listener.Start();

                // Bytes before a marker, and corrupt data in a sequential scan (bytes before the end marker can be read as
        // padding of the last block, and corrupt refinement data of a progressive scan can go unnoticed: no warning then).
        var warned = corpus.Files.Where(f => f.Accepted && (f.Path.Contains("extraneous-before-dht", StringComparison.Ordinal)
            || f.Path.Contains("extraneous-before-sos", StringComparison.Ordinal)
            || (!f.Path.Contains("progressive", StringComparison.Ordinal) && f.Path.Contains("corrupt-entropy-", StringComparison.Ordinal)))).ToArray();
        Assert.NotEmpty(warned);
        foreach (var (path, _, _) in warned)
        {
            var image = processor.Process(path, default, new float[3 * 64 * 64], 64, 64);

            Assert.True(image.Warning is not null, $"{Path.GetFileName(path)} decoded by {image.Codec} without a warning");
            Assert.Contains(reported, r => r.Path == path && r.Message == image.Warning);
        }

        output.WriteLine(string.Join('\n', reported.Select(r => $"{Path.GetFileName(r.Path)}: {r.Message}")));
        Assert.Equal(warned.Length, reported.Count);
        lock (counted)
        {
            Assert.True(counted.Count >= warned.Length, $"{counted.Count} warnings counted for {warned.Length} files");
            Assert.All(counted, c => Assert.Equal("skia", c.Decoder));
        }
    }

    private static (bool Accepted, string Message, DecodedImage? Image) Verdict(JpegDecoder decoder, string path)
    {
        var processor = ImageProcessor.Create(ImageTransform.Compose(ImageTransform.Resize(64), ImageTransform.CenterCrop(64), ImageTransform.ToTensor()), new ImageFolderOptions { JpegDecoder = decoder });
        try
        {
            return (true, string.Empty, processor.Process(path, default, new float[3 * 64 * 64], 64, 64));
        }
        catch (InvalidDataException ex)
        {
            return (false, ex.Message, null);
        }
    }
}
