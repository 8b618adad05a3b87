using FsCheck;
using FsCheck.Fluent;
using StreamingLoader.Tests;

namespace StreamingLoader.Images.Tests;

/// <summary>
/// Random mutations of valid JPEG and PNG files, and files of random bytes, through the decoder and transforms: each
/// file becomes an image or an <see cref="InvalidDataException"/> naming it; nothing else is thrown, the process does
/// not crash in native code, and no file takes long.
/// </summary>
public sealed class DecodePropertyTests(TorchvisionReference reference) : IClassFixture<TorchvisionReference>, IDisposable
{
    private const int Size = 32;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private readonly string _directory = Directory.CreateTempSubdirectory("image-props").FullName;
    private readonly ImageProcessor _processor = ImageProcessor.Create(
        ImageTransform.Compose(ImageTransform.RandomResizedCrop(Size), ImageTransform.RandomHorizontalFlip(), ImageTransform.ToTensor()),
        new ImageFolderOptions { MaxPixels = 4_000_000 });

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData("cat/a.jpg")]
    [InlineData("dog/rgba.png")]
    public void MutatedValidImage_DecodesOrThrowsInvalidDataNamingTheFile(string file)
    {
        var valid = File.ReadAllBytes(Path.Combine(reference.Folder, file));
        var files = Mutations.Of(Gen.Constant(valid), maxMutations: 3);
        Prop.ForAll(files.ToArbitrary(), bytes => DecodesOrNamesTheFile(bytes, Path.GetExtension(file))).Check(Config.QuickThrowOnFailure.WithMaxTest(150));
    }

    [Fact]
    public void MutatedJpeg_SameVerdictAndMessageWithLibjpegTurboAndWithSkia()
    {
        var valid = File.ReadAllBytes(Path.Combine(reference.Folder, "cat/a.jpg"));
        var (turbo, skia) = BothDecoders();
        Prop.ForAll(Mutations.Of(Gen.Constant(valid), maxMutations: 3).ToArbitrary(), bytes =>
        {
            var path = Path.Combine(_directory, $"{Guid.NewGuid():N}.jpg");
            File.WriteAllBytes(path, bytes);
            try
            {
                var (a, b) = (Verdict(turbo, path), Verdict(skia, path));
                return a == b ? true : throw new InvalidOperationException($"libjpeg-turbo: {a}; Skia: {b}; file: {Convert.ToBase64String(bytes)}");
            }
            finally
            {
                File.Delete(path);
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(150));
    }

    [Fact]
    public void TruncatedJpeg_AtEveryLengthThroughItsHeaders_SameVerdictAndMessageWithLibjpegTurboAndWithSkia()
    {
        // A file cut before its frame header reads as 0 × 0 in libjpeg-turbo: found by the property above once in
        // about 20 runs, so every cut through the headers is tried here.
        var valid = File.ReadAllBytes(Path.Combine(reference.Folder, "cat/a.jpg"));
        var (turbo, skia) = BothDecoders();
        var path = Path.Combine(_directory, "cut.jpg");
        for (var length = 1; length < Math.Min(valid.Length, 700); length++)
        {
            File.WriteAllBytes(path, valid.AsSpan(0, length).ToArray());
            Assert.Equal(Verdict(skia, path), Verdict(turbo, path));
        }
    }

    [Fact]
    public void RandomBytes_ThrowInvalidDataNamingTheFile() =>
        Prop.ForAll(Mutations.RandomBytes(4000).ToArbitrary(), bytes => DecodesOrNamesTheFile(bytes, ".jpg")).Check(Config.QuickThrowOnFailure.WithMaxTest(150));

    private static (ImageProcessor TurboJpeg, ImageProcessor Skia) BothDecoders()
    {
        var transform = ImageTransform.Compose(ImageTransform.Resize(Size), ImageTransform.CenterCrop(Size), ImageTransform.ToTensor());
        return (ImageProcessor.Create(transform, new ImageFolderOptions { JpegDecoder = JpegDecoder.TurboJpeg, MaxPixels = 4_000_000 }),
            ImageProcessor.Create(transform, new ImageFolderOptions { JpegDecoder = JpegDecoder.Skia, MaxPixels = 4_000_000 }));
    }

    private static string Verdict(ImageProcessor processor, string path)
    {
        try
        {
            processor.Process(path, default, new float[3 * Size * Size], Size, Size);
            return "accepted";
        }
        catch (InvalidDataException ex)
        {
            return ex.Message;
        }
    }

    private bool DecodesOrNamesTheFile(byte[] bytes, string extension)
    {
        var path = Path.Combine(_directory, $"{Guid.NewGuid():N}{extension}");
        File.WriteAllBytes(path, bytes);
        try
        {
            var destination = new float[3 * Size * Size];
            var run = Task.Run(() => _processor.Process(path, default, destination, Size, Size));
            try
            {
                if (!run.Wait(Bound))
                {
                    throw new TimeoutException($"decoding {bytes.Length} bytes took more than {Bound}: {Convert.ToBase64String(bytes)}");
                }
            }
            catch (AggregateException ex) when (ex.InnerException is InvalidDataException invalid)
            {
                return invalid.Message.Contains(path, StringComparison.Ordinal)
                    ? true
                    : throw new InvalidOperationException($"the error does not name the file: {invalid.Message}");
            }

            return destination.All(float.IsFinite) ? true : throw new InvalidOperationException("a decoded image has non-finite values");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
