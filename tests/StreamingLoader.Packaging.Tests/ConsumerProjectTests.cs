using StreamingLoader.TorchSharp.Build;

namespace StreamingLoader.Packaging.Tests;

/// <summary>
/// A console project outside the repository, referencing only the packed packages (and TorchSharp-cpu from NuGet),
/// builds and trains one TorchSharp step; built without the package's GLIBCXX step, it fails saying why and what to
/// do, not with TorchSharp's "doesn't contain a reference to libtorch-cpu-linux-x64".
/// </summary>
[Collection(PackagesGroup.Name)]
public class ConsumerProjectTests(PackedSolution packed)
{
    private const string Glibcxx = "GLIBCXX_3.4.32";

    [Fact]
    public async Task ConsumerProject_OutsideTheRepository_BuildsFromThePackagesAndTrainsAStep()
    {
        var project = ConsumerProject.Create(packed, "app");
        Assert.False(project.Folder.StartsWith(Repository.Root, StringComparison.Ordinal), project.Folder);

        var build = await project.BuildAsync("out");
        Assert.True(build.ExitCode == 0, build.Output);
        var run = await project.RunAsync("out");

        Assert.True(run.ExitCode == 0, run.Output);
        var trained = System.Text.RegularExpressions.Regex.Match(run.Output, @"trained 1 step on 64 samples: loss \d+\.\d{4}, weights moved (?<moved>\d+\.\d{4})");
        Assert.True(trained.Success, run.Output);
        Assert.True(double.Parse(trained.Groups["moved"].Value, System.Globalization.CultureInfo.InvariantCulture) > 0, run.Output);

        // The package's buildTransitive step patched the output's copy (already weak: nothing left to change) and
        // left the NuGet cache's copy as TorchSharp shipped it.
        var output = Path.Combine(project.Folder, "out", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        var cached = Path.Combine(Repository.NuGetPackageRoot, "torchsharp", Repository.PackageVersion("TorchSharp"), "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.False(WeakVersionPatch.Apply(File.ReadAllBytes(output), output, [Glibcxx], available: null).Changed);
        Assert.True(WeakVersionPatch.Apply(File.ReadAllBytes(cached), cached, [Glibcxx], available: null).Changed);
    }

    [Fact]
    public async Task ConsumerProject_BuiltWithoutTheGlibcxxStep_SaysWhichVersionIsMissingAndWhatFixesIt()
    {
        var project = ConsumerProject.Create(packed, "app-without-the-step");

        var build = await project.BuildAsync("out", "-p:StreamingLoaderWeakenLibTorchSharpVersions=false");
        Assert.True(build.ExitCode == 0, build.Output);
        var run = await project.RunAsync("out");

        var available = WeakVersionPatch.InstalledLibStdCxxVersions(out var libstdcxx);
        if (available is not null && available.Contains(Glibcxx))
        {
            // A libstdc++ from GCC 13 or later has the version: TorchSharp's library loads as shipped.
            Assert.True(run.ExitCode == 0, run.Output);
            return;
        }

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("System.InvalidOperationException: TorchSharp's native library", run.Output);
        Assert.Contains($"cannot load: it asks for {Glibcxx} of libstdc++, and this machine's libstdc++", run.Output);
        Assert.Contains("buildTransitive/StreamingLoader.TorchSharp.targets", run.Output);
        Assert.Contains("StreamingLoaderWeakenLibTorchSharpVersions", run.Output);
        Assert.Contains($"version `{Glibcxx}' not found", run.Output);
        Assert.Contains("at StreamingLoader.TorchSharp.TorchThreads.ApplyDefaults", run.Output);

        // TorchSharp never got to try: neither its misleading message nor its 300 MB copy of libtorch.
        Assert.DoesNotContain("doesn't contain a reference to libtorch-cpu", run.Output);
        Assert.False(Directory.Exists(Path.Combine(project.Folder, "out", "cpu")), $"libstdc++ at {libstdcxx}");
    }
}
