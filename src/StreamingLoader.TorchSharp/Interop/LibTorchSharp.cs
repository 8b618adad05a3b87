using System.Runtime.InteropServices;

namespace StreamingLoader.TorchSharp.Interop;

/// <summary>
/// The two exports of TorchSharp's native library that its managed API keeps internal: a tensor over foreign memory
/// with a deleter (<c>torch::from_blob</c>), and a tensor's data address.
/// </summary>
internal static unsafe partial class LibTorchSharp
{
    private const string Library = "LibTorchSharp";

    /// <summary>
    /// <c>THSTensor_new(void* data, void (*deleter)(void*), const int64_t* sizes, int32_t szlength, int8_t scalar_type,
    /// int8_t dtype, int32_t device_type, int32_t device_index, bool requires_grad)</c> (src/Native/LibTorchSharp/THSTensorFactories.cpp).
    /// With <c>scalar_type == dtype</c> and the CPU device it wraps <paramref name="data"/> without a copy; libtorch calls
    /// <paramref name="deleter"/> with <paramref name="data"/> when the storage is freed. Returns 0 on error.
    /// </summary>
    [LibraryImport(Library)]
    public static partial nint THSTensor_new(
        nint data,
        delegate* unmanaged[Cdecl]<nint, void> deleter,
        long* sizes,
        int szlength,
        sbyte scalarType,
        sbyte dtype,
        int deviceType,
        int deviceIndex,
        [MarshalAs(UnmanagedType.U1)] bool requiresGrad);

    /// <summary><c>void* THSTensor_data(const Tensor tensor)</c>: the address of the tensor's first element.</summary>
    [LibraryImport(Library)]
    public static partial nint THSTensor_data(nint tensor);
}
