using System.Runtime.InteropServices;

namespace StreamingLoader.Images.Decoding;

/// <summary>A TurboJPEG decompressor, destroyed when its thread's workspace is collected.</summary>
internal sealed class TurboJpegHandle : SafeHandle
{
    public TurboJpegHandle()
        : base(0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    public static TurboJpegHandle Create()
    {
        var result = new TurboJpegHandle();
        result.SetHandle(TurboJpeg.InitDecompress());
        if (result.IsInvalid)
        {
            throw new InvalidOperationException("tjInitDecompress failed: libturbojpeg could not allocate a decompressor.");
        }

        return result;
    }

    protected override bool ReleaseHandle() => TurboJpeg.Destroy(handle) == 0;
}
