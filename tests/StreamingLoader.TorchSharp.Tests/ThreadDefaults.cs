using System.Runtime.CompilerServices;

namespace StreamingLoader.TorchSharp.Tests;

/// <summary>Applies the thread defaults before any test trains, as an application's Main does first.</summary>
internal static class ThreadDefaults
{
#pragma warning disable CA2255 // A test assembly is the application here: this runs before any test touches TorchSharp.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Apply() => TorchThreads.ApplyDefaults();
}
