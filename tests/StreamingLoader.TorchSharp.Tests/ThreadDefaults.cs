using System.Runtime.CompilerServices;

namespace StreamingLoader.TorchSharp.Tests;

/// <summary>Applies the thread defaults before any test loads libtorch, as an application's Main does first.</summary>
internal static class ThreadDefaults
{
    /// <summary>Gets the wait policy the environment had before (a user's value wins over the default).</summary>
    public static string? WaitPolicyBefore { get; private set; }

#pragma warning disable CA2255 // A test assembly is the application here: this runs before any test touches TorchSharp.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Apply()
    {
        WaitPolicyBefore = Environment.GetEnvironmentVariable(TorchThreads.WaitPolicyVariable);
        TorchThreads.ApplyDefaults();
    }
}
