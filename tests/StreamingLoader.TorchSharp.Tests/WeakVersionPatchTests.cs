using StreamingLoader.TorchSharp.Build;

namespace StreamingLoader.TorchSharp.Tests;

/// <summary>The libstdc++ version patch on TorchSharp's real libLibTorchSharp.so.</summary>
public class WeakVersionPatchTests
{
    private static readonly string Original = Path.Combine(
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
        "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    [Fact]
    public void Apply_Glibcxx3432Unrelocated_SetsOnlyTheWeakFlagOfThatEntry()
    {
        var bytes = File.ReadAllBytes(Original);
        var before = (byte[])bytes.Clone();

        var result = WeakVersionPatch.Apply(bytes, "libLibTorchSharp.so", ["GLIBCXX_3.4.32"], available: null);

        Assert.True(result.Changed);
        Assert.Equal(["GLIBCXX_3.4.32"], result.Weakened);
        var changed = Enumerable.Range(0, bytes.Length).Where(i => bytes[i] != before[i]).ToArray();
        Assert.Single(changed);
        Assert.Equal(WeakVersionPatch.VerFlagWeak, bytes[changed[0]] ^ before[changed[0]]);
    }

    [Fact]
    public void Apply_AlreadyPatched_ChangesNothing()
    {
        var bytes = File.ReadAllBytes(Original);
        WeakVersionPatch.Apply(bytes, "libLibTorchSharp.so", ["GLIBCXX_3.4.32"], available: null);
        var once = (byte[])bytes.Clone();

        var again = WeakVersionPatch.Apply(bytes, "libLibTorchSharp.so", ["GLIBCXX_3.4.32"], available: null);

        Assert.False(again.Changed);
        Assert.Equal(once, bytes);
    }

    [Fact]
    public void Apply_RelocatedSymbolNeedsAVersionMissingHere_RefusesNamingTheSymbols()
    {
        var bytes = File.ReadAllBytes(Original);

        // Pretend this machine's libstdc++ stops at GLIBCXX_3.4.29 (GCC 11): symbols the library binds need 3.4.30.
        var available = new HashSet<string>(Enumerable.Range(0, 30).Select(i => i == 0 ? "GLIBCXX_3.4" : $"GLIBCXX_3.4.{i}").Concat(["CXXABI_1.3", "CXXABI_1.3.1", "CXXABI_1.3.3", "CXXABI_1.3.5", "CXXABI_1.3.9", "CXXABI_1.3.13"]));

        var error = Assert.Throws<InvalidDataException>(() => WeakVersionPatch.Apply(bytes, "libLibTorchSharp.so", ["GLIBCXX_3.4.32"], available));

        Assert.Contains("needs GLIBCXX_3.4.30 of libstdc++.so.6 for symbols it binds", error.Message);
        Assert.Contains("lacks that version", error.Message);
    }

    [Fact]
    public void InstalledLibStdCxxVersions_ThisMachine_MissesGlibcxx3432AndTheBuildOutputIsPatched()
    {
        var available = WeakVersionPatch.InstalledLibStdCxxVersions(out var path);
        Assert.NotNull(available);
        Assert.Contains("GLIBCXX_3.4.30", available);

        // The copy next to these tests was patched by the build target (the cache's copy was not), and it loads:
        // every TorchSharp test in this assembly runs on it.
        var output = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.False(WeakVersionPatch.Apply(File.ReadAllBytes(output), output, ["GLIBCXX_3.4.32"], available).Changed);
        Assert.True(WeakVersionPatch.Apply(File.ReadAllBytes(Original), Original, [], available).Changed, $"libstdc++ at {path}");
    }
}
