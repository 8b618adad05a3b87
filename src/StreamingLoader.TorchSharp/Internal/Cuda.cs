using StreamingLoader.TorchSharp.Interop;
using TorchSharp;

namespace StreamingLoader.TorchSharp.Internal;

/// <summary>Whether the CUDA feed can run here, and if not, why.</summary>
internal static class Cuda
{
    /// <summary>Gets null when TorchSharp has a CUDA device and the CUDA runtime loads; otherwise the reason it cannot run.</summary>
    public static string? Availability()
    {
        if (!torch.cuda.is_available())
        {
            return "TorchSharp reports no CUDA device (torch.cuda.is_available() is false: the application references TorchSharp-cpu, or there is no NVIDIA driver or GPU).";
        }

        var runtime = CudaRuntime.TryGet();
        if (runtime is null)
        {
            return "libcudart could not be loaded (set STREAMINGLOADER_CUDART to its path).";
        }

        return runtime.DeviceCount() > 0 ? null : $"the CUDA runtime {runtime.Path} sees no device.";
    }
}
