using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace StreamingLoader.Images.Decoding;

/// <summary>
/// The reusable buffers and decoder handle of one image in flight: the file's bytes, the decoded pixels, the
/// resampler's rows and coefficients. A <see cref="WorkspacePool"/> lends one to each image being decoded, so a loader
/// holds at most as many as it decodes at once (its workers).
/// </summary>
/// <remarks>
/// Buffers grow to what an image needs and are kept, so at steady state an image allocates nothing in proportion to
/// its pixels. After each image (<see cref="EndImage"/>) the file and pixel buffers are released when they are far
/// larger than what the recent images needed: an outlier's memory goes back right after it.
/// </remarks>
internal sealed class Workspace
{
    /// <summary>Images remembered to decide what is usual.</summary>
    public const int Window = 32;

    /// <summary>A buffer at or under this size is always kept.</summary>
    public const long KeepBytes = 1 << 20;

    private readonly long[] _fileNeeds = new long[Window];
    private readonly long[] _pixelNeeds = new long[Window];
    private int _images;
    private long _fileNeed;
    private long _pixelNeed;
    private TurboJpegHandle? _turboJpeg;
    private int[] _pixels = [];

    public byte[] File = [];

    public float[] Rows = [];

    public int[] XStarts = [];

    public int[] XCounts = [];

    public float[] XWeights = [];

    public int[] YStarts = [];

    public int[] YCounts = [];

    public float[] YWeights = [];

    public int[] GatherIndex = [];

    public float[] GatherWeights = [];

    public float[] SourceRow = [];

    public float[] Planes = [];

    public int[] BlockBases = [];

    public int[] BlockOffsets = [];

    public float[] PlanarWeights = [];

    /// <summary>Gets the decoded pixels: the bytes of the last <see cref="EnsurePixels"/>.</summary>
    public Span<byte> Pixels => MemoryMarshal.AsBytes(_pixels.AsSpan());

    /// <summary>Gets the pixel buffer as 32-bit words (a decoder that writes packed RGBA words, such as LibTiff's).</summary>
    public int[] PixelWords => _pixels;

    /// <summary>Gets the bytes this workspace holds in its file and pixel buffers.</summary>
    public long RetainedBytes => File.LongLength + (_pixels.LongLength * sizeof(int));

    /// <summary>Gets the most bytes this workspace has held in its file and pixel buffers at once.</summary>
    public long PeakBytes { get; private set; }

    /// <summary>Gets this workspace's TurboJPEG decompressor (TurboJPEG handles are not thread-safe: one image at a time).</summary>
    public nint TurboJpeg => (_turboJpeg ??= TurboJpegHandle.Create()).DangerousGetHandle();

    /// <summary>
    /// Takes the decompressor's error message and replaces the decompressor: after an error libjpeg-turbo's state is
    /// not reset, and the next, valid file failed with the bad one's error ("Bogus marker length").
    /// </summary>
    public string TurboJpegFailed()
    {
        var message = Decoding.TurboJpeg.ErrorText(TurboJpeg);
        _turboJpeg?.Dispose();
        _turboJpeg = null;
        return message;
    }

    /// <summary>Reads the whole file into <see cref="File"/> and returns its length.</summary>
    public int ReadFile(string path)
    {
        using SafeFileHandle handle = System.IO.File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.SequentialScan);
        var length = RandomAccess.GetLength(handle);
        if (length > Array.MaxLength)
        {
            throw new InvalidDataException($"'{path}' is {length} bytes long, too large for an image file.");
        }

        _fileNeed = Math.Max(_fileNeed, length);
        var buffer = Ensure(ref File, (int)length);
        PeakBytes = Math.Max(PeakBytes, RetainedBytes);
        var read = 0;
        while (read < length)
        {
            var n = RandomAccess.Read(handle, buffer.AsSpan(read, (int)length - read), read);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        return read;
    }

    /// <summary>Copies an encoded image held in memory (a tar member) into <see cref="File"/> and returns its length.</summary>
    public int Load(ReadOnlySpan<byte> image)
    {
        _fileNeed = Math.Max(_fileNeed, image.Length);
        var buffer = Ensure(ref File, image.Length);
        PeakBytes = Math.Max(PeakBytes, RetainedBytes);
        image.CopyTo(buffer);
        return image.Length;
    }

    /// <summary>Makes the pixel buffer hold at least <paramref name="length"/> bytes.</summary>
    public void EnsurePixels(long length)
    {
        var words = (length + 3) / 4;
        if (words > Array.MaxLength)
        {
            throw new InvalidDataException($"The decoded image would take {length} bytes.");
        }

        _pixelNeed = Math.Max(_pixelNeed, length);
        Ensure(ref _pixels, (int)words);
        PeakBytes = Math.Max(PeakBytes, RetainedBytes);
    }

    /// <summary>
    /// Ends an image: remembers what it needed and releases the file or pixel buffer when it holds more than
    /// <see cref="KeepBytes"/> and more than twice the 5th largest need of the last <see cref="Window"/> images (this one
    /// included, so an image far larger than the usual is released at once).
    /// </summary>
    public void EndImage()
    {
        var slot = _images++ % Window;
        _fileNeeds[slot] = _fileNeed;
        _pixelNeeds[slot] = _pixelNeed;
        (_fileNeed, _pixelNeed) = (0, 0);
        var count = Math.Min(_images, Window);
        if (File.LongLength > Math.Max(KeepBytes, 2 * Usual(_fileNeeds, count)))
        {
            File = [];
        }

        if (_pixels.LongLength * sizeof(int) > Math.Max(KeepBytes, 2 * Usual(_pixelNeeds, count)))
        {
            _pixels = [];
        }
    }

    public float[] EnsureRows(int length) => Ensure(ref Rows, length);

    public void EnsurePermute(int validWidth, int taps, int planes)
    {
        var blocks = (validWidth + 7) / 8;
        Ensure(ref BlockBases, blocks);
        Ensure(ref BlockOffsets, blocks * 8);
        Ensure(ref PlanarWeights, taps * blocks * 8);
        Ensure(ref Planes, planes);
    }

    public void EnsureGather(int elements, int taps, int sourceRow)
    {
        Ensure(ref GatherIndex, elements);
        Ensure(ref GatherWeights, elements * taps);
        Ensure(ref SourceRow, sourceRow);
    }

    public void EnsureCoefficients(int xCount, int yCount, int xTaps, int yTaps)
    {
        Ensure(ref XStarts, xCount);
        Ensure(ref XCounts, xCount);
        Ensure(ref XWeights, xCount * xTaps);
        Ensure(ref YStarts, yCount);
        Ensure(ref YCounts, yCount);
        Ensure(ref YWeights, yCount * yTaps);
    }

    /// <summary>
    /// The 5th largest of the first <paramref name="count"/> needs (the 90th percentile of a full window), 0 with fewer
    /// than 5: a buffer stays only while 5 of the recent images needed as much, however few there were so far (a
    /// percentile of a few images would keep the buffer of two outliers among them).
    /// </summary>
    private static long Usual(long[] needs, int count)
    {
        if (count < 5)
        {
            return 0;
        }

        Span<long> sorted = stackalloc long[Window];
        needs.AsSpan(0, count).CopyTo(sorted);
        sorted = sorted[..count];
        sorted.Sort();
        return sorted[count - 5];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T[] Ensure<T>(ref T[] current, int length)
    {
        if (current.Length >= length)
        {
            return current;
        }

        // Grow by a quarter again, so a few slightly larger images do not each cost a new buffer; never past the need
        // of a large image (the memory bound counts the largest need, not a multiple of it).
        var grown = (long)current.Length * 5 / 4;
        var size = grown <= length || grown * Unsafe.SizeOf<T>() > 16 * KeepBytes ? length : (int)Math.Min(Array.MaxLength, grown);
        var array = GC.AllocateUninitializedArray<T>(size);
        current = array;
        return array;
    }
}
