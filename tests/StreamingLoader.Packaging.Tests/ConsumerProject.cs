namespace StreamingLoader.Packaging.Tests;

/// <summary>
/// A console project of a user's own, in a folder outside the repository: it references the packed
/// StreamingLoader.TorchSharp from the local feed and TorchSharp-cpu from NuGet, and nothing of the repository.
/// NuGet extracts the packed packages into a packages folder of its own (so a user's cache is never touched) and finds
/// TorchSharp and libtorch in the repository's packages folder as a fallback (no 1 GB copy, no download).
/// </summary>
internal sealed class ConsumerProject
{
    private ConsumerProject(string folder) => Folder = folder;

    /// <summary>Gets the project's folder.</summary>
    public string Folder { get; }

    /// <summary>Writes the project (Program.cs, the csproj, a nuget.config with the feed) under the packed solution's folder.</summary>
    public static ConsumerProject Create(PackedSolution packed, string name)
    {
        var folder = Path.Combine(packed.Root, name);
        Directory.CreateDirectory(folder);
        var template = Path.Combine(AppContext.BaseDirectory, "Consumer");
        File.Copy(Path.Combine(template, "Program.cs"), Path.Combine(folder, "Program.cs"));
        File.WriteAllText(
            Path.Combine(folder, "Consumer.csproj"),
            File.ReadAllText(Path.Combine(template, "Consumer.csproj.in"))
                .Replace("@StreamingLoaderVersion@", packed.Version, StringComparison.Ordinal)
                .Replace("@TorchSharpVersion@", Repository.PackageVersion("TorchSharp-cpu"), StringComparison.Ordinal));
        File.WriteAllText(Path.Combine(folder, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <config>
                <add key="globalPackagesFolder" value="{Path.Combine(packed.Root, "packages")}" />
              </config>
              <packageSources>
                <clear />
                <add key="streamingloader" value="{packed.Feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
              <fallbackPackageFolders>
                <clear />
                <add key="repository" value="{Repository.NuGetPackageRoot}" />
              </fallbackPackageFolders>
            </configuration>
            """);
        return new ConsumerProject(folder);
    }

    /// <summary>
    /// Builds the project in Release into <paramref name="output"/> (under the project folder). Files are hard-linked
    /// from the packages folders where possible (1 GB of libtorch per build otherwise): the GLIBCXX step must then
    /// replace the output's libLibTorchSharp.so, never write through the link into the NuGet cache, which the tests check.
    /// </summary>
    public Task<(int ExitCode, string Output)> BuildAsync(string output, params string[] properties) =>
        Dotnet.RunAsync(
            Folder,
            ["build", "-c", "Release", "-o", Path.Combine(Folder, output), "-nologo", "-p:CreateHardLinksForCopyLocalIfPossible=true", .. properties],
            TimeSpan.FromMinutes(10),
            Isolated);

    /// <summary>Runs the built application.</summary>
    public Task<(int ExitCode, string Output)> RunAsync(string output) =>
        Dotnet.RunAsync(Folder, [Path.Combine(Folder, output, "Consumer.dll")], TimeSpan.FromMinutes(3));

    /// <summary>NUGET_PACKAGES (if the test run has one) would override the project's own packages folder.</summary>
    private Dictionary<string, string> Isolated => new() { ["NUGET_PACKAGES"] = Path.Combine(Path.GetDirectoryName(Folder)!, "packages") };
}
