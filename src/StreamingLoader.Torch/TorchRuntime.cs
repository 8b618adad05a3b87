using System.Runtime.InteropServices;
using System.Text;
using StreamingLoader.Torch.Interop;

namespace StreamingLoader.Torch;

/// <summary>
/// The libtorch the bridge runs on: its version, whether CUDA is usable, the intra-op thread count and the global
/// random seed (<c>torch.manual_seed</c>).
/// </summary>
/// <remarks>
/// The first use loads the native bridge (<c>libstreamingloader_torch.so</c>, built with this project and copied beside
/// it) and libtorch; a missing libtorch raises <see cref="DllNotFoundException"/> naming what to install.
/// </remarks>
public static class TorchRuntime
{
    private static readonly Lazy<Info> Cached = new(Load);

    /// <summary>Gets libtorch's version, for example <c>1.13.0</c>.</summary>
    public static string Version => Cached.Value.Version;

    /// <summary>Gets whether a CUDA device can be used (libtorch built with CUDA and a device visible).</summary>
    public static bool IsCudaAvailable => Cached.Value.CudaAvailable;

    /// <summary>Gets the number of visible CUDA devices (0 without CUDA).</summary>
    public static int CudaDeviceCount => Cached.Value.CudaDeviceCount;

    /// <summary>Gets whether the bridge was built against a libtorch with CUDA.</summary>
    public static bool BuiltWithCuda => Cached.Value.BuiltWithCuda;

    /// <summary>
    /// Gets or sets the number of threads libtorch uses inside one operation (<c>torch.set_num_threads</c>); global
    /// to the process. At least 1.
    /// </summary>
    public static int Threads
    {
        get
        {
            _ = Cached.Value;
            return Read().Threads;
        }

        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            _ = Cached.Value;
            NativeError.Check(NativeMethods.slt_set_num_threads(value));
        }
    }

    /// <summary>Seeds libtorch's global generator (<c>torch.manual_seed</c>): parameter initialization draws from it.</summary>
    public static void ManualSeed(ulong seed)
    {
        _ = Cached.Value;
        NativeError.Check(NativeMethods.slt_manual_seed(seed));
    }

    /// <summary>Loads the bridge and checks that it speaks this assembly's ABI version.</summary>
    internal static void EnsureLoaded() => _ = Cached.Value;

    private static Info Load()
    {
        var abi = NativeMethods.slt_abi_version();
        if (abi != NativeMethods.AbiVersion)
        {
            throw new InvalidOperationException(
                $"The libtorch bridge speaks ABI version {abi} but StreamingLoader.Torch expects {NativeMethods.AbiVersion}: rebuild the project so that both come from the same sources.");
        }

        return Read();
    }

    private static unsafe Info Read()
    {
        RuntimeInfo info;
        NativeError.Check(NativeMethods.slt_runtime_info_get(&info));
        var version = new ReadOnlySpan<byte>(info.TorchVersion, 32);
        var end = version.IndexOf((byte)0);
        return new Info(
            Encoding.UTF8.GetString(end < 0 ? version : version[..end]),
            info.CudaAvailable != 0,
            info.CudaDeviceCount,
            info.BuiltWithCuda != 0,
            info.Threads);
    }

    [StructLayout(LayoutKind.Auto)]
    private readonly record struct Info(string Version, bool CudaAvailable, int CudaDeviceCount, bool BuiltWithCuda, int Threads);
}
