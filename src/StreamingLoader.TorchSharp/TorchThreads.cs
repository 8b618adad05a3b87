using StreamingLoader.TorchSharp.Interop;
using TorchSharp;

namespace StreamingLoader.TorchSharp;

/// <summary>
/// libtorch's thread settings for training next to a loader. Call <see cref="ApplyDefaults"/> first thing in
/// <c>Main</c>, before any TorchSharp call.
/// </summary>
/// <remarks>
/// libtorch's OpenMP threads spin while they wait for work (<c>OMP_WAIT_POLICY=ACTIVE</c> behaviour). With the
/// loader's workers on the same cores the spinning threads and the workers take turns, and a training step measured
/// several times slower; <c>OMP_WAIT_POLICY=PASSIVE</c> makes them sleep instead. OpenMP reads the variable once, when
/// libtorch loads, from the C library's environment, which <see cref="Environment.SetEnvironmentVariable(string, string)"/>
/// does not reach on Linux: this class sets it there, and refuses once libtorch is loaded (too late to take effect).
/// A value the user set in the environment wins.
/// </remarks>
public static class TorchThreads
{
    /// <summary>The OpenMP variable that decides whether idle threads spin or sleep.</summary>
    public const string WaitPolicyVariable = "OMP_WAIT_POLICY";

    /// <summary>Gets whether libtorch (its OpenMP runtime) is loaded in this process, after which the wait policy is fixed.</summary>
    public static bool IsLibTorchLoaded =>
        ProcessNative.LoadedLibraries("libtorch_cpu").Count > 0 || ProcessNative.LoadedLibraries("libgomp").Count > 0;

    /// <summary>
    /// Makes libtorch's idle threads sleep (<c>OMP_WAIT_POLICY=PASSIVE</c>) unless the environment already says
    /// otherwise, and, when <paramref name="intraOpThreads"/> is given, sets <c>torch.set_num_threads</c> (which loads libtorch).
    /// </summary>
    /// <exception cref="InvalidOperationException">libtorch is already loaded and the environment has no wait policy.</exception>
    public static void ApplyDefaults(int? intraOpThreads = null)
    {
        if (intraOpThreads is { } threads)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threads, nameof(intraOpThreads));
        }

        if (Environment.GetEnvironmentVariable(WaitPolicyVariable) is null)
        {
            if (IsLibTorchLoaded)
            {
                throw new InvalidOperationException(
                    $"libtorch is already loaded, so {WaitPolicyVariable} can no longer take effect: call TorchThreads.ApplyDefaults before the first TorchSharp call, or set {WaitPolicyVariable}=PASSIVE in the environment.");
            }

            ProcessNative.SetNativeEnvironment(WaitPolicyVariable, "PASSIVE", overwrite: false);
        }

        if (intraOpThreads is { } count)
        {
            torch.set_num_threads(count);
        }
    }
}
