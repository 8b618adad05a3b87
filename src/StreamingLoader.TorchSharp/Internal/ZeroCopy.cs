using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using StreamingLoader.TorchSharp.Interop;
using TorchSharp;
using static TorchSharp.torch;
using StreamingLoader.Batching;

namespace StreamingLoader.TorchSharp.Internal;

/// <summary>
/// Wraps batch memory as CPU tensors without a copy. Each tensor holds its batch (<see cref="BatchLease.Retain"/>) until
/// libtorch frees the storage and calls <see cref="OnStorageFreed"/>, which releases that hold: the buffer goes back to
/// the pool only when neither the consumer nor libtorch (autograd included) needs it.
/// </summary>
internal static unsafe class ZeroCopy
{
    private static readonly Lock Gate = new();

    // Holds by data address. Every tensor over one address wraps the same leased buffer, so the deleter may release
    // any hold registered for its address.
    private static readonly Dictionary<nint, Stack<IDisposable>> Holds = [];

    /// <summary>Gets the holds not yet released by libtorch (for tests and leak diagnosis).</summary>
    public static int PendingHolds
    {
        get
        {
            lock (Gate)
            {
                var count = 0;
                foreach (var stack in Holds.Values)
                {
                    count += stack.Count;
                }

                return count;
            }
        }
    }

    public static Tensor Wrap(Batch batch, BatchTensor source)
    {
        LibTorchSetup.EnsureLoaded();
        var shape = source.Shape;
        var sizes = stackalloc long[shape.Length];
        for (var i = 0; i < shape.Length; i++)
        {
            sizes[i] = shape[i];
        }

        var data = source.Pointer;
        var scalarType = (sbyte)ToScalarType(source.ElementType);
        var hold = BatchLease.Retain(batch);
        lock (Gate)
        {
            if (!Holds.TryGetValue(data, out var stack))
            {
                Holds[data] = stack = new Stack<IDisposable>(2);
            }

            stack.Push(hold);
        }

        var handle = LibTorchSharp.THSTensor_new(data, &OnStorageFreed, sizes, shape.Length, scalarType, scalarType, (int)DeviceType.CPU, -1, requiresGrad: false);
        if (handle == 0)
        {
            // libtorch did not take the memory, so no deleter will run for this hold.
            Release(data);
            torch.CheckForErrors();
            throw new InvalidOperationException($"libtorch could not wrap the batch memory at 0x{data:x} as a {source.ElementType} tensor.");
        }

        return Tensor.UnsafeCreateTensor(handle);
    }

    public static ScalarType ToScalarType(ElementType type) => type switch
    {
        ElementType.Float32 => ScalarType.Float32,
        ElementType.Float64 => ScalarType.Float64,
        ElementType.Float16 => ScalarType.Float16,
        ElementType.UInt8 => ScalarType.Byte,
        ElementType.Int8 => ScalarType.Int8,
        ElementType.Int16 => ScalarType.Int16,
        ElementType.Int32 => ScalarType.Int32,
        ElementType.Int64 => ScalarType.Int64,
        ElementType.Bool => ScalarType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "No torch dtype for this element type."),
    };

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnStorageFreed(nint data)
    {
        // Called by libtorch on whatever thread frees the storage (a finalizer, autograd): never throw into native code.
        try
        {
            Release(data);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Environment.FailFast($"StreamingLoader.TorchSharp: releasing the batch buffer at 0x{data:x} failed.", ex);
        }
    }

    private static void Release(nint data)
    {
        IDisposable? hold = null;
        lock (Gate)
        {
            if (Holds.TryGetValue(data, out var stack) && stack.TryPop(out hold) && stack.Count == 0)
            {
                Holds.Remove(data);
            }
        }

        hold?.Dispose();
    }
}
