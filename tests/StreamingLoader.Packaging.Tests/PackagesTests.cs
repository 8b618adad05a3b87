using System.IO.Compression;
using System.Reflection.Metadata;
using System.Xml.Linq;

namespace StreamingLoader.Packaging.Tests;

/// <summary>
/// <c>dotnet pack StreamingLoader.sln</c> makes one package per shipped project, each with its README, the license,
/// its repository commit, its XML docs and a symbol package; the TorchSharp package carries its build step in
/// <c>buildTransitive/</c> and the command line is a .NET tool.
/// </summary>
[Collection(PackagesGroup.Name)]
public class PackagesTests(PackedSolution packed)
{
    [Fact]
    public void Pack_Solution_OnePackageAndOneSymbolPackagePerShippedProject()
    {
        var packages = Directory.GetFiles(packed.Feed).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();

        var expected = Repository.ShippedProjects
            .SelectMany(id => new[] { $"{id}.{packed.Version}.nupkg", $"{id}.{packed.Version}.snupkg" })
            .Order(StringComparer.Ordinal);
        Assert.Equal(expected, packages);
        Assert.Contains("StreamingLoader", Repository.ShippedProjects);
        Assert.Contains("StreamingLoader.TorchSharp", Repository.ShippedProjects);
    }

    [Fact]
    public void Pack_EveryPackage_CarriesReadmeLicenseCommitDocsAndSymbols()
    {
        foreach (var id in Repository.ShippedProjects)
        {
            using var package = ZipFile.OpenRead(Path.Combine(packed.Feed, $"{id}.{packed.Version}.nupkg"));
            var metadata = Nuspec(package, id);
            Assert.Equal(packed.Version, Value(metadata, "version"));
            Assert.Equal("MIT", Value(metadata, "license"));
            Assert.Equal("README.md", Value(metadata, "readme"));
            Assert.NotNull(package.GetEntry("README.md"));
            Assert.Contains("MIT License", Text(package, "LICENSE"));
            Assert.Matches("^[0-9a-f]{40}$", metadata.Elements().Single(e => e.Name.LocalName == "repository").Attribute("commit")?.Value);
            Assert.False(string.IsNullOrWhiteSpace(Value(metadata, "description")), id);

            var tool = id == "StreamingLoader.Cli";
            var folder = tool ? "tools/net10.0/any/" : "lib/net10.0/";
            Assert.NotNull(package.GetEntry($"{folder}{id}.dll"));
            if (!tool)
            {
                Assert.NotNull(package.GetEntry($"{folder}{id}.xml"));
            }

            // The symbols: a portable PDB whose documents are the project's sources.
            using var symbols = ZipFile.OpenRead(Path.Combine(packed.Feed, $"{id}.{packed.Version}.snupkg"));
            using var pdb = new MemoryStream();
            using (var entry = symbols.GetEntry($"{folder}{id}.pdb")!.Open())
            {
                entry.CopyTo(pdb);
            }

            pdb.Position = 0;
            using var provider = MetadataReaderProvider.FromPortablePdbStream(pdb);
            var reader = provider.GetMetadataReader();
            var documents = reader.Documents.Select(d => reader.GetString(reader.GetDocument(d).Name)).ToArray();
            Assert.Contains(documents, d => d.Replace('\\', '/').Contains($"src/{id}/", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Pack_TorchSharpPackage_CarriesTheGlibcxxStepInBuildTransitive()
    {
        using var package = ZipFile.OpenRead(packed.Package("StreamingLoader.TorchSharp"));
        var build = Path.Combine(Repository.Root, "src", "StreamingLoader.TorchSharp", "build");

        // NuGet imports buildTransitive/<id>.targets into the project that references the package.
        Assert.Equal(File.ReadAllText(Path.Combine(build, "StreamingLoader.TorchSharp.targets")), Text(package, "buildTransitive/StreamingLoader.TorchSharp.targets"));
        Assert.Equal(File.ReadAllText(Path.Combine(build, "WeakVersionPatch.cs")), Text(package, "buildTransitive/WeakVersionPatch.cs"));
        var dependencies = Nuspec(package, "StreamingLoader.TorchSharp").Descendants().Where(e => e.Name.LocalName == "dependency").ToDictionary(e => e.Attribute("id")!.Value, e => e.Attribute("version")!.Value);
        Assert.Equal(packed.Version, dependencies["StreamingLoader"]);
        Assert.Equal(Repository.PackageVersion("TorchSharp"), dependencies["TorchSharp"]);
    }

    [Fact]
    public void Pack_Cli_IsADotnetToolWithoutNativeSymbolFiles()
    {
        using var package = ZipFile.OpenRead(packed.Package("StreamingLoader.Cli"));

        var metadata = Nuspec(package, "StreamingLoader.Cli");
        Assert.Equal("DotnetTool", metadata.Descendants().Single(e => e.Name.LocalName == "packageType").Attribute("name")?.Value);
        Assert.Contains("streamingloader", Text(package, "tools/net10.0/any/DotnetToolSettings.xml"));
        Assert.DoesNotContain(package.Entries, e => e.FullName.Contains("/runtimes/", StringComparison.Ordinal) && e.FullName.EndsWith(".pdb", StringComparison.Ordinal));
    }

    private static XElement Nuspec(ZipArchive package, string id) =>
        XDocument.Parse(Text(package, $"{id}.nuspec")).Root!.Elements().Single(e => e.Name.LocalName == "metadata");

    private static string? Value(XElement metadata, string name) => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name)?.Value;

    private static string Text(ZipArchive package, string path)
    {
        using var reader = new StreamReader(package.GetEntry(path)?.Open() ?? throw new InvalidOperationException($"no {path} in the package"));
        return reader.ReadToEnd();
    }
}
