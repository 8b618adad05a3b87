using System.Reflection;
using System.Runtime.InteropServices;

namespace StreamingLoader.Torch.Interop;

/// <summary>The C ABI of the native bridge (<c>native/streamingloader_torch.h</c>).</summary>
/// <remarks>
/// Every call that returns a status is checked with <see cref="NativeError.Check"/> on the same thread, right after
/// the call, because the error message is kept per thread on the native side.
/// </remarks>
internal static unsafe partial class NativeMethods
{
    internal const string Library = "streamingloader_torch";
    internal const string LibraryFileName = "libstreamingloader_torch.so";
    internal const int AbiVersion = 1;
    internal const int MaxDimensions = 8;

    static NativeMethods()
    {
        NativeLibrary.SetDllImportResolver(typeof(NativeMethods).Assembly, Resolve);
    }

    [LibraryImport(Library)]
    internal static partial nint slt_last_error();

    [LibraryImport(Library)]
    internal static partial int slt_abi_version();

    [LibraryImport(Library)]
    internal static partial int slt_runtime_info_get(RuntimeInfo* info);

    [LibraryImport(Library)]
    internal static partial int slt_set_num_threads(int threads);

    [LibraryImport(Library)]
    internal static partial int slt_manual_seed(ulong seed);

    [LibraryImport(Library)]
    internal static partial int slt_model_linear(long inputs, long outputs, out ModelHandle model);

    [LibraryImport(Library)]
    internal static partial int slt_model_mlp(long* sizes, int count, out ModelHandle model);

    [LibraryImport(Library)]
    internal static partial int slt_model_cnn(long channels, long height, long width, long classes, long conv1, long conv2, long hidden, out ModelHandle model);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int slt_model_load_script(string path, out ModelHandle model);

    [LibraryImport(Library)]
    internal static partial void slt_model_free(nint model);

    [LibraryImport(Library)]
    internal static partial int slt_model_parameter_count(ModelHandle model, out long count);

    [LibraryImport(Library)]
    internal static partial int slt_model_to(ModelHandle model, int deviceType, int deviceIndex);

    [LibraryImport(Library)]
    internal static partial int slt_model_set_training(ModelHandle model, int training);

    [LibraryImport(Library)]
    internal static partial int slt_model_is_training(ModelHandle model, out int training);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int slt_model_save(ModelHandle model, string path);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int slt_model_load(ModelHandle model, string path);

    [LibraryImport(Library)]
    internal static partial int slt_model_describe(ModelHandle model, byte* buffer, long capacity, out long needed);

    [LibraryImport(Library)]
    internal static partial int slt_model_forward(ModelHandle model, TensorView* input, float* output, long capacity, long* outputShape, out int outputDimensions);

    [LibraryImport(Library)]
    internal static partial int slt_model_read_output(ModelHandle model, float* output, long capacity);

    [LibraryImport(Library)]
    internal static partial int slt_optimizer_sgd(ModelHandle model, double lr, double momentum, double dampening, double weightDecay, int nesterov, out OptimizerHandle optimizer);

    [LibraryImport(Library)]
    internal static partial int slt_optimizer_adam(ModelHandle model, double lr, double beta1, double beta2, double eps, double weightDecay, out OptimizerHandle optimizer);

    [LibraryImport(Library)]
    internal static partial int slt_optimizer_set_lr(OptimizerHandle optimizer, double lr);

    [LibraryImport(Library)]
    internal static partial int slt_optimizer_get_lr(OptimizerHandle optimizer, out double lr);

    [LibraryImport(Library)]
    internal static partial void slt_optimizer_free(nint optimizer);

    [LibraryImport(Library)]
    internal static partial int slt_trainer_create(ModelHandle model, nint optimizer, int loss, int deviceType, int deviceIndex, double featureScale, int pageLock, out TrainerHandle trainer);

    [LibraryImport(Library)]
    internal static partial int slt_trainer_stage(TrainerHandle trainer, TensorView* features, TensorView* labels);

    [LibraryImport(Library)]
    internal static partial int slt_trainer_step(TrainerHandle trainer, int train);

    [LibraryImport(Library)]
    internal static partial int slt_trainer_release(TrainerHandle trainer, int maxHeld, out int released);

    [LibraryImport(Library)]
    internal static partial int slt_trainer_last_step(TrainerHandle trainer, out double loss, out long correct, out long count);

    [LibraryImport(Library)]
    internal static partial int slt_trainer_reset(TrainerHandle trainer);

    [LibraryImport(Library)]
    internal static partial int slt_trainer_totals(TrainerHandle trainer, int reset, out double lossSum, out long correct, out long count);

    [LibraryImport(Library)]
    internal static partial int slt_trainer_stats_get(TrainerHandle trainer, TrainerStats* stats);

    [LibraryImport(Library)]
    internal static partial int slt_trainer_synchronize(TrainerHandle trainer);

    [LibraryImport(Library)]
    internal static partial void slt_trainer_free(nint trainer);

    /// <summary>Describes a batch tensor to the bridge, which wraps it without a copy.</summary>
    internal static TensorView View(BatchTensor tensor)
    {
        var shape = tensor.Shape;
        if (shape.Length > MaxDimensions)
        {
            throw new ArgumentException($"The bridge takes tensors of at most {MaxDimensions} dimensions; this one has {shape.Length}.", nameof(tensor));
        }

        var view = new TensorView
        {
            Data = (void*)tensor.Pointer,
            Dimensions = shape.Length,
            ElementType = (int)tensor.ElementType,
            CapacityBytes = tensor.CapacityBytes,
        };
        for (var i = 0; i < shape.Length; i++)
        {
            view.Shape[i] = shape[i];
        }

        return view;
    }

    /// <summary>Loads the bridge from beside this assembly (where the build copies it), then from the usual places.</summary>
    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != Library)
        {
            return 0;
        }

        var folder = Path.GetDirectoryName(assembly.Location);
        var besideAssembly = Path.Combine(string.IsNullOrEmpty(folder) ? AppContext.BaseDirectory : folder, LibraryFileName);
        if (NativeLibrary.TryLoad(besideAssembly, out var handle) || NativeLibrary.TryLoad(libraryName, assembly, searchPath, out handle))
        {
            return handle;
        }

        try
        {
            return NativeLibrary.Load(besideAssembly);
        }
        catch (DllNotFoundException ex)
        {
            throw new DllNotFoundException(
                $"StreamingLoader.Torch could not load its libtorch bridge '{besideAssembly}': {ex.Message} The bridge is built with the project (cmake, g++, libtorch: on Debian `apt-get install cmake g++ libtorch-dev`) and needs libtorch's shared libraries at run time.",
                ex);
        }
    }
}

/// <summary><c>slt_tensor_view</c>: host memory, shape and element type.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct TensorView
{
    public void* Data;
    public fixed long Shape[NativeMethods.MaxDimensions];
    public int Dimensions;
    public int ElementType;
    public long CapacityBytes;
}

/// <summary><c>slt_runtime_info</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct RuntimeInfo
{
    public int AbiVersion;
    public int CudaAvailable;
    public int CudaDeviceCount;
    public int BuiltWithCuda;
    public int Threads;
    public int InteropThreads;
    public fixed byte TorchVersion[32];
}

/// <summary><c>slt_trainer_stats</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct TrainerStats
{
    public int Staged;
    public int HostHeld;
    public long PinnedBuffers;
    public long BytesCopied;
    public long Steps;
}
