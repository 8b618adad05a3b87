using System.Reflection;
using System.Xml.Linq;

namespace StreamingLoader.Packaging.Tests;

/// <summary>Where the repository these tests were built from is, and how it was built.</summary>
internal static class Repository
{
    public static string Root { get; } = Metadata("RepositoryRoot");

    public static string Configuration { get; } = Metadata("Configuration");

    /// <summary>The NuGet packages folder the repository restored into (the consumer's fallback for TorchSharp).</summary>
    public static string NuGetPackageRoot { get; } =
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } packages ? packages : Metadata("NuGetPackageRoot");

    /// <summary>The shipped projects: every project folder under src/.</summary>
    public static IReadOnlyList<string> ShippedProjects { get; } =
        Directory.GetDirectories(Path.Combine(Root, "src")).Where(folder => File.Exists(Path.Combine(folder, Path.GetFileName(folder) + ".csproj"))).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    /// <summary>Gets the version of a package in Directory.Packages.props.</summary>
    public static string PackageVersion(string id) =>
        XDocument.Load(Path.Combine(Root, "Directory.Packages.props")).Descendants("PackageVersion").Single(e => (string?)e.Attribute("Include") == id).Attribute("Version")!.Value;

    private static string Metadata(string key) =>
        typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value
        ?? throw new InvalidOperationException($"The test assembly has no {key} metadata.");
}
