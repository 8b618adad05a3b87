using System.Globalization;

namespace StreamingLoader.Packaging.Tests;

/// <summary>
/// <c>dotnet pack StreamingLoader.sln</c> of the build under test (<c>--no-build</c>) into a local feed folder, once
/// for the tests of the collection, with a version of its own (a package version never seen before cannot be served
/// stale from a NuGet cache).
/// </summary>
public sealed class PackedSolution : IAsyncLifetime
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("streamingloader-packages-");

    /// <summary>Gets the folder everything of these tests lives in, outside the repository.</summary>
    public string Root => _root.FullName;

    /// <summary>Gets the local feed: the packages and symbol packages.</summary>
    public string Feed => Path.Combine(Root, "feed");

    /// <summary>Gets the version suffix of this run's packages.</summary>
    public string Suffix { get; } = "packtest." + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);

    /// <summary>Gets the version of this run's packages (StreamingLoader.Prometheus is a prerelease of its own: see its project).</summary>
    public string Version => "0.1.0-" + Suffix;

    public async Task InitializeAsync()
    {
        var (exitCode, output) = await Dotnet.RunAsync(
            Repository.Root,
            ["pack", "StreamingLoader.sln", "-c", Repository.Configuration, "--no-build", "-o", Feed, "-p:VersionSuffix=" + Suffix, "-nologo"],
            TimeSpan.FromMinutes(10));
        Assert.True(exitCode == 0, $"dotnet pack of the solution failed ({exitCode}):\n{output}");
    }

    /// <summary>Gets the path of a package in the feed.</summary>
    public string Package(string id, string extension = ".nupkg") => Path.Combine(Feed, $"{id}.{Version}{extension}");

    public Task DisposeAsync()
    {
        _root.Delete(recursive: true);
        return Task.CompletedTask;
    }
}

/// <summary>The tests that share one pack of the solution.</summary>
[CollectionDefinition(Name)]
public sealed class PackagesGroup : ICollectionFixture<PackedSolution>
{
    public const string Name = "packages";
}
