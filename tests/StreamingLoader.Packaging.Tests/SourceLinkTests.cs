using System.IO.Compression;
using System.Reflection.Metadata;
using System.Text.Json;

namespace StreamingLoader.Packaging.Tests;

/// <summary>
/// Source Link (the .NET SDK's own, no package needed): packed from a checkout whose <c>origin</c> is on GitHub, the
/// symbols map every source file to that commit's raw file on GitHub. The repository's own checkout may have no
/// remote, so the committed tree is cloned and given one.
/// </summary>
public class SourceLinkTests
{
    private static readonly Guid SourceLinkKind = new("CC110556-A091-4D38-9FEC-25AB9A351A6A");

    [Fact]
    public async Task Pack_CheckoutWithAGitHubOrigin_SymbolsMapTheSourcesToTheCommitOnGitHub()
    {
        var folder = Directory.CreateTempSubdirectory("streamingloader-sourcelink-");
        try
        {
            var clone = Path.Combine(folder.FullName, "clone");
            var commit = (await Git(Repository.Root, "rev-parse", "HEAD")).Trim();
            await Git(folder.FullName, "clone", "--quiet", "--no-checkout", Repository.Root, clone);
            await Git(clone, "checkout", "--quiet", commit);
            await Git(clone, "remote", "set-url", "origin", "https://github.com/streamingloader-tests/StreamingLoader.git");

            var feed = Path.Combine(folder.FullName, "feed");
            var (exitCode, output) = await Dotnet.RunAsync(clone, ["pack", "src/StreamingLoader/StreamingLoader.csproj", "-c", "Release", "-o", feed, "-nologo"], TimeSpan.FromMinutes(10));
            Assert.True(exitCode == 0, output);

            using var symbols = ZipFile.OpenRead(Directory.GetFiles(feed, "*.snupkg").Single());
            using var pdb = new MemoryStream();
            using (var entry = symbols.GetEntry("lib/net10.0/StreamingLoader.pdb")!.Open())
            {
                entry.CopyTo(pdb);
            }

            pdb.Position = 0;
            using var provider = MetadataReaderProvider.FromPortablePdbStream(pdb);
            var reader = provider.GetMetadataReader();
            var sourceLink = reader.CustomDebugInformation
                .Select(reader.GetCustomDebugInformation)
                .Single(info => reader.GetGuid(info.Kind) == SourceLinkKind);
            using var json = JsonDocument.Parse(reader.GetBlobBytes(sourceLink.Value));
            var map = json.RootElement.GetProperty("documents").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());

            // The checkout's root, or "/_/" where the build is a CI build (CI=true: deterministic source paths).
            var root = Assert.Single(map, p => p.Key == Path.GetFullPath(clone) + Path.DirectorySeparatorChar + "*" || p.Key == "/_/*").Key;
            Assert.Equal($"https://raw.githubusercontent.com/streamingloader-tests/StreamingLoader/{commit}/*", map[root]);

            // Every source document of the library is under the mapped root (generated files are embedded instead).
            var documents = reader.Documents.Select(d => reader.GetString(reader.GetDocument(d).Name)).Where(d => d.EndsWith(".cs", StringComparison.Ordinal)).ToArray();
            Assert.Contains(documents, d => d.EndsWith("DataLoader.cs", StringComparison.Ordinal));
            Assert.All(documents.Where(d => d.Contains("/src/", StringComparison.Ordinal)), d => Assert.StartsWith(root[..^1], d, StringComparison.Ordinal));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static async Task<string> Git(string workingDirectory, params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo("git") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"git {string.Join(' ', arguments)}: {await error}");
        return await output;
    }
}
