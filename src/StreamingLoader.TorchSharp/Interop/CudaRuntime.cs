using System.Runtime.InteropServices;

namespace StreamingLoader.TorchSharp.Interop;

/// <summary>
/// The few CUDA runtime calls TorchSharp does not expose (streams, events, page-locking, async copies), bound at run
/// time from <c>libcudart</c>: the copy libtorch already loaded (TorchSharp's CUDA packages and PyTorch ship one, often
/// under a hashed name), else <c>STREAMINGLOADER_CUDART</c>, else the usual sonames. No C++ to compile.
/// </summary>
internal sealed unsafe class CudaRuntime
{
    public const int Success = 0;
    public const int NotReady = 600;
    public const int HostMemoryAlreadyRegistered = 712;
    public const int MemcpyHostToDevice = 1;
    public const uint StreamNonBlocking = 1;
    public const uint EventDisableTiming = 2;

    private static readonly Lazy<CudaRuntime?> Shared = new(Load);

    private readonly delegate* unmanaged[Cdecl]<int*, int> _getDeviceCount;
    private readonly delegate* unmanaged[Cdecl]<int, int> _setDevice;
    private readonly delegate* unmanaged[Cdecl]<nint, nuint, uint, int> _hostRegister;
    private readonly delegate* unmanaged[Cdecl]<nint, int> _hostUnregister;
    private readonly delegate* unmanaged[Cdecl]<nint*, uint, int> _streamCreateWithFlags;
    private readonly delegate* unmanaged[Cdecl]<nint, int> _streamDestroy;
    private readonly delegate* unmanaged[Cdecl]<nint, nint, uint, int> _streamWaitEvent;
    private readonly delegate* unmanaged[Cdecl]<nint*, uint, int> _eventCreateWithFlags;
    private readonly delegate* unmanaged[Cdecl]<nint, nint, int> _eventRecord;
    private readonly delegate* unmanaged[Cdecl]<nint, int> _eventQuery;
    private readonly delegate* unmanaged[Cdecl]<nint, int> _eventSynchronize;
    private readonly delegate* unmanaged[Cdecl]<nint, int> _eventDestroy;
    private readonly delegate* unmanaged[Cdecl]<nint, nint, nuint, int, nint, int> _memcpyAsync;
    private readonly delegate* unmanaged[Cdecl]<int, byte*> _getErrorString;

    private CudaRuntime(nint library, string path)
    {
        Path = path;
        _getDeviceCount = (delegate* unmanaged[Cdecl]<int*, int>)NativeLibrary.GetExport(library, "cudaGetDeviceCount");
        _setDevice = (delegate* unmanaged[Cdecl]<int, int>)NativeLibrary.GetExport(library, "cudaSetDevice");
        _hostRegister = (delegate* unmanaged[Cdecl]<nint, nuint, uint, int>)NativeLibrary.GetExport(library, "cudaHostRegister");
        _hostUnregister = (delegate* unmanaged[Cdecl]<nint, int>)NativeLibrary.GetExport(library, "cudaHostUnregister");
        _streamCreateWithFlags = (delegate* unmanaged[Cdecl]<nint*, uint, int>)NativeLibrary.GetExport(library, "cudaStreamCreateWithFlags");
        _streamDestroy = (delegate* unmanaged[Cdecl]<nint, int>)NativeLibrary.GetExport(library, "cudaStreamDestroy");
        _streamWaitEvent = (delegate* unmanaged[Cdecl]<nint, nint, uint, int>)NativeLibrary.GetExport(library, "cudaStreamWaitEvent");
        _eventCreateWithFlags = (delegate* unmanaged[Cdecl]<nint*, uint, int>)NativeLibrary.GetExport(library, "cudaEventCreateWithFlags");
        _eventRecord = (delegate* unmanaged[Cdecl]<nint, nint, int>)NativeLibrary.GetExport(library, "cudaEventRecord");
        _eventQuery = (delegate* unmanaged[Cdecl]<nint, int>)NativeLibrary.GetExport(library, "cudaEventQuery");
        _eventSynchronize = (delegate* unmanaged[Cdecl]<nint, int>)NativeLibrary.GetExport(library, "cudaEventSynchronize");
        _eventDestroy = (delegate* unmanaged[Cdecl]<nint, int>)NativeLibrary.GetExport(library, "cudaEventDestroy");
        _memcpyAsync = (delegate* unmanaged[Cdecl]<nint, nint, nuint, int, nint, int>)NativeLibrary.GetExport(library, "cudaMemcpyAsync");
        _getErrorString = (delegate* unmanaged[Cdecl]<int, byte*>)NativeLibrary.GetExport(library, "cudaGetErrorString");
    }

    /// <summary>Gets the library the calls go to.</summary>
    public string Path { get; }

    /// <summary>Gets the CUDA runtime, or null where none loads (no NVIDIA driver or no libcudart).</summary>
    public static CudaRuntime? TryGet() => Shared.Value;

    /// <summary>Gets the number of CUDA devices, 0 when the runtime reports an error (no driver, no device).</summary>
    public int DeviceCount()
    {
        int count;
        return _getDeviceCount(&count) == Success ? count : 0;
    }

    public void SetDevice(int device) => Check(_setDevice(device), "cudaSetDevice");

    /// <summary>Page-locks host memory; returns the CUDA status (already registered is not an error for the caller).</summary>
    public int HostRegister(nint pointer, long bytes) => _hostRegister(pointer, (nuint)bytes, 0);

    public int HostUnregister(nint pointer) => _hostUnregister(pointer);

    public nint CreateStream()
    {
        nint stream;
        Check(_streamCreateWithFlags(&stream, StreamNonBlocking), "cudaStreamCreateWithFlags");
        return stream;
    }

    public int DestroyStream(nint stream) => _streamDestroy(stream);

    public void StreamWaitEvent(nint stream, nint cudaEvent) => Check(_streamWaitEvent(stream, cudaEvent, 0), "cudaStreamWaitEvent");

    public nint CreateEvent()
    {
        nint cudaEvent;
        Check(_eventCreateWithFlags(&cudaEvent, EventDisableTiming), "cudaEventCreateWithFlags");
        return cudaEvent;
    }

    public void RecordEvent(nint cudaEvent, nint stream) => Check(_eventRecord(cudaEvent, stream), "cudaEventRecord");

    /// <summary>Gets whether all work before the event's record has completed.</summary>
    public bool EventCompleted(nint cudaEvent)
    {
        var status = _eventQuery(cudaEvent);
        if (status == NotReady)
        {
            return false;
        }

        Check(status, "cudaEventQuery");
        return true;
    }

    public void SynchronizeEvent(nint cudaEvent) => Check(_eventSynchronize(cudaEvent), "cudaEventSynchronize");

    public int DestroyEvent(nint cudaEvent) => _eventDestroy(cudaEvent);

    public void CopyToDeviceAsync(nint destination, nint source, long bytes, nint stream) =>
        Check(_memcpyAsync(destination, source, (nuint)bytes, MemcpyHostToDevice, stream), "cudaMemcpyAsync");

    public string ErrorString(int status) => Marshal.PtrToStringUTF8((nint)_getErrorString(status)) ?? $"error {status}";

    public void Check(int status, string call)
    {
        if (status != Success)
        {
            throw new InvalidOperationException($"{call} failed: {ErrorString(status)} ({status}); CUDA runtime {Path}.");
        }
    }

    private static CudaRuntime? Load()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("STREAMINGLOADER_CUDART") is { Length: > 0 } configured)
        {
            candidates.Add(configured);
        }

        candidates.AddRange(ProcessNative.LoadedLibraries("libcudart"));
        candidates.AddRange(["libcudart.so.12", "libcudart.so.13", "libcudart.so.11.0", "libcudart.so", "cudart64_12.dll"]);
        foreach (var candidate in candidates)
        {
            if (NativeLibrary.TryLoad(candidate, out var library))
            {
                try
                {
                    return new CudaRuntime(library, candidate);
                }
                catch (EntryPointNotFoundException)
                {
                    NativeLibrary.Free(library);
                }
            }
        }

        return null;
    }
}
