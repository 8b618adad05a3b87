using System.Runtime.InteropServices;
using StreamingLoader.TorchSharp.Build;
using StreamingLoader.TorchSharp.Internal;

namespace StreamingLoader.TorchSharp.Tests;

/// <summary>
/// Where TorchSharp's native library cannot load, the reason and the fix, not TorchSharp's "doesn't contain a
/// reference to libtorch-cpu-linux-x64". The whole path (a project built without the fix) is in PackagingTests.
/// </summary>
public class LibTorchSetupTests
{
    [Fact]
    public void Explain_TheLoadersRealRefusalOfTheUnpatchedLibrary_NamesTheVersionTheLibStdCxxAndTheFix()
    {
        // The NuGet cache's copy was never patched (the build patches the output's copy). With libtorch loaded in
        // this process already, the dynamic loader can only refuse it for its symbol versions.
        var unpatched = Path.Combine(
            Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
            "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        var available = WeakVersionPatch.InstalledLibStdCxxVersions(out _);
        Assert.NotNull(available);
        LibTorchSetup.EnsureLoaded();

        if (available.Contains("GLIBCXX_3.4.32"))
        {
            // A libstdc++ from GCC 13 or later: the unpatched library loads, and there is nothing to explain.
            Assert.True(NativeLibrary.TryLoad(unpatched, out _));
            return;
        }

        var refused = Assert.Throws<DllNotFoundException>(() => NativeLibrary.Load(unpatched));
        var explanation = LibTorchSetup.Explain(refused.Message, unpatched);

        Assert.NotNull(explanation);
        Assert.Contains($"{unpatched} cannot load: it asks for GLIBCXX_3.4.32 of libstdc++", explanation);
        var newest = available.Where(v => v.StartsWith("GLIBCXX_3.4.", StringComparison.Ordinal)).MaxBy(v => int.Parse(v["GLIBCXX_3.4.".Length..]));
        Assert.Contains($"whose newest is {newest}", explanation);
        Assert.Contains("buildTransitive/StreamingLoader.TorchSharp.targets", explanation);
        Assert.Contains("StreamingLoaderWeakenLibTorchSharpVersions", explanation);
        Assert.Contains("GCC 13 or later", explanation);
        Assert.Contains("version `GLIBCXX_3.4.32' not found", explanation);
        Assert.Contains("libstdc++.so.6", explanation);
        Assert.DoesNotContain("libtorch-cpu-linux-x64", explanation);
    }

    [Fact]
    public void Explain_AnotherLoaderError_LeavesItToTorchSharp()
    {
        Assert.Null(LibTorchSetup.Explain("libtorch.so: cannot open shared object file: No such file or directory", "/app/libLibTorchSharp.so"));
    }

    [Fact]
    public void FindNativeLibrary_TheseTests_FindTheBuildOutputsCopy()
    {
        var found = LibTorchSetup.FindNativeLibrary();

        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so"), found);
    }
}
