using System.Runtime.InteropServices;

namespace StreamingLoader.Images.Decoding;

/// <summary>
/// The TurboJPEG 2.x API of libjpeg-turbo (Debian's <c>libturbojpeg0</c>), by P/Invoke. TurboJPEG keeps libjpeg's
/// <c>setjmp</c> error handling on the native side, so a corrupt file comes back as an error code, never as a
/// <c>longjmp</c> through managed frames.
/// </summary>
internal static partial class TurboJpeg
{
    public const int PixelFormatRgb = 0;
    public const int PixelFormatGray = 6;

    public const int PixelFormatCmyk = 11;

    private const string Library = "turbojpeg";

    private static readonly Lazy<string?> s_loadError = new(TryLoad);

    /// <summary>Gets why the library could not be loaded, or null when it is available.</summary>
    public static string? LoadError => s_loadError.Value;

    public static bool IsAvailable => LoadError is null;

    [LibraryImport(Library, EntryPoint = "tjInitDecompress")]
    public static partial nint InitDecompress();

    [LibraryImport(Library, EntryPoint = "tjDestroy")]
    public static partial int Destroy(nint handle);

    [LibraryImport(Library, EntryPoint = "tjDecompressHeader3")]
    public static unsafe partial int DecompressHeader3(nint handle, byte* jpegBuf, nuint jpegSize, out int width, out int height, out int subsampling, out int colorspace);

    [LibraryImport(Library, EntryPoint = "tjDecompress2")]
    public static unsafe partial int Decompress2(nint handle, byte* jpegBuf, nuint jpegSize, byte* dstBuf, int width, int pitch, int height, int pixelFormat, int flags);

    [LibraryImport(Library, EntryPoint = "tjGetErrorStr2")]
    public static partial nint GetErrorStr2(nint handle);

    [LibraryImport(Library, EntryPoint = "tjGetScalingFactors")]
    public static unsafe partial ScalingFactor* GetScalingFactors(out int count);

    public static string ErrorText(nint handle) => Marshal.PtrToStringUTF8(GetErrorStr2(handle)) ?? "unknown TurboJPEG error";

    /// <summary>The scales TurboJPEG can decode at that shrink the image (num/denom ≤ 1), largest first.</summary>
    public static unsafe ScalingFactor[] ShrinkingFactors()
    {
        var all = GetScalingFactors(out var count);
        var factors = new List<ScalingFactor>();
        for (var i = 0; i < count; i++)
        {
            if (all[i].Num <= all[i].Denom)
            {
                factors.Add(all[i]);
            }
        }

        factors.Sort((a, b) => ((double)b.Num / b.Denom).CompareTo((double)a.Num / a.Denom));
        return [.. factors];
    }

    private static string? TryLoad()
    {
        foreach (var name in (string[])["libturbojpeg.so.0", "libturbojpeg.so", "turbojpeg", "libturbojpeg.0.dylib", "libturbojpeg.dylib"])
        {
            if (NativeLibrary.TryLoad(name, typeof(TurboJpeg).Assembly, null, out var library))
            {
                NativeLibrary.SetDllImportResolver(typeof(TurboJpeg).Assembly, (requested, _, _) => requested == Library ? library : 0);
                return null;
            }
        }

        return "libturbojpeg is not installed (on Debian and Ubuntu: apt-get install libturbojpeg0)";
    }

    [StructLayout(LayoutKind.Sequential)]
    public readonly struct ScalingFactor
    {
        public readonly int Num;
        public readonly int Denom;

        /// <summary>TurboJPEG's <c>TJSCALED</c>: the size of a dimension decoded at this scale.</summary>
        public int Scale(int dimension) => (int)((((long)dimension * Num) + Denom - 1) / Denom);
    }
}
