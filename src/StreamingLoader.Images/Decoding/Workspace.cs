using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;

namespace StreamingLoader.Images.Decoding;

/// <summary>
/// One thread's reusable buffers and decoder handle: the file's bytes, the decoded pixels, the resampler's rows and
/// coefficients. Buffers only grow, so at steady state decoding an image allocates nothing in proportion to its pixels.
/// </summary>
internal sealed class Workspace
{
    [ThreadStatic]
    private static Workspace? t_current;

    private TurboJpegHandle? _turboJpeg;

    public static Workspace Current => t_current ??= new Workspace();

    public byte[] File = [];

    public byte[] Pixels = [];

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

    /// <summary>Gets this thread's TurboJPEG decompressor (TurboJPEG handles are not thread-safe).</summary>
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

        var buffer = Ensure(ref File, (int)length);
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

    public byte[] EnsurePixels(long length)
    {
        if (length > Array.MaxLength)
        {
            throw new InvalidDataException($"The decoded image would take {length} bytes.");
        }

        return Ensure(ref Pixels, (int)length);
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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T[] Ensure<T>(ref T[] current, int length)
    {
        if (current.Length >= length)
        {
            return current;
        }

        // Grow by half again, so a few slightly larger images do not each cost a new buffer.
        var grown = GC.AllocateUninitializedArray<T>(Math.Max(length, (int)Math.Min(Array.MaxLength, current.Length * 3L / 2)));
        current = grown;
        return grown;
    }
}
