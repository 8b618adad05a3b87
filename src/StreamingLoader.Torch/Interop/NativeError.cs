using System.Runtime.InteropServices;

namespace StreamingLoader.Torch.Interop;

/// <summary>Turns the bridge's status codes into .NET exceptions carrying libtorch's message.</summary>
internal static class NativeError
{
    private const int Ok = 0;
    private const int InvalidArgument = 2;
    private const int BufferTooSmall = 3;
    private const int InvalidState = 4;

    /// <summary>Throws for a failed call; call it on the thread that made the call, right after it.</summary>
    public static void Check(int status)
    {
        if (status != Ok)
        {
            throw Create(status);
        }
    }

    /// <summary>Whether the status says an output buffer was too small (the needed size was written).</summary>
    public static bool IsBufferTooSmall(int status) => status == BufferTooSmall;

    private static Exception Create(int status)
    {
        var message = Marshal.PtrToStringUTF8(NativeMethods.slt_last_error());
        if (string.IsNullOrEmpty(message))
        {
            message = $"The libtorch bridge failed with status {status}.";
        }

        return status switch
        {
            InvalidArgument => new ArgumentException(message),
            InvalidState => new InvalidOperationException(message),
            _ => new TorchException(message),
        };
    }
}
