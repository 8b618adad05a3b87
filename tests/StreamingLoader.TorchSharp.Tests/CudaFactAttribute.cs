namespace StreamingLoader.TorchSharp.Tests;

/// <summary>A fact that needs a CUDA device and a CUDA TorchSharp; it skips, saying why, where there is none.</summary>
public sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (Internal.Cuda.Availability() is { } reason)
        {
            Skip = $"Needs a CUDA device and TorchSharp-cuda-linux: {reason}";
        }
    }
}
