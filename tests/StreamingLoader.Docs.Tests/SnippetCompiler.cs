using System.Collections.Immutable;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace StreamingLoader.Docs.Tests;

/// <summary>
/// Compiles a snippet as a console program of its own: top-level statements with the SDK's implicit usings, against
/// every assembly this test loads (the libraries and their dependencies), as a user's project referencing the packages
/// would.
/// </summary>
internal static class SnippetCompiler
{
    // What Microsoft.NET.Sdk's ImplicitUsings gives a console project.
    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(LoadReferences);

    public static (Assembly? Assembly, IReadOnlyList<string> Errors) Compile(Snippet snippet)
    {
        var options = new CSharpParseOptions(LanguageVersion.Preview);
        var code = CSharpSyntaxTree.ParseText(snippet.Code, options, path: snippet.ToString());

        // A snippet of statements is a program; one of declarations only (a collator, a model) is a library.
        var program = code.GetCompilationUnitRoot().Members.OfType<Microsoft.CodeAnalysis.CSharp.Syntax.GlobalStatementSyntax>().Any();
        var compilation = CSharpCompilation.Create(
            "Snippet" + Guid.NewGuid().ToString("N"),
            [CSharpSyntaxTree.ParseText(ImplicitUsings, options), code],
            References.Value,
            new CSharpCompilationOptions(
                program ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary,
                nullableContextOptions: NullableContextOptions.Enable,
                allowUnsafe: true));
        using var output = new MemoryStream();
        var result = compilation.Emit(output);
        var errors = result.Diagnostics
            .Where(d => d.Severity == DiagnosticSeverity.Error || (d.Severity == DiagnosticSeverity.Warning && d.Id.StartsWith("CS8", StringComparison.Ordinal)))
            .Select(d => d.ToString())
            .ToList();
        return (result.Success && errors.Count == 0 ? Assembly.Load(output.ToArray()) : null, errors);
    }

    private static ImmutableArray<MetadataReference> LoadReferences()
    {
        // The libraries a snippet may use, loaded so their dependencies resolve too.
        string[] libraries =
        [
            "StreamingLoader", "StreamingLoader.CpuTraining", "StreamingLoader.Datasets", "StreamingLoader.Images", "StreamingLoader.Parquet",
            "StreamingLoader.Prometheus", "StreamingLoader.RabbitMQ", "StreamingLoader.Shards", "StreamingLoader.Text", "StreamingLoader.TorchSharp", "StreamingLoader.WebDataset",
            "TorchSharp", "System.Reactive", "OpenTelemetry.Extensions.Hosting", "Microsoft.AspNetCore",
        ];
        foreach (var library in libraries)
        {
            Assembly.Load(library);
        }

        var trusted = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        var local = Directory.GetFiles(AppContext.BaseDirectory, "*.dll").Where(IsManaged);
        return [.. trusted.Concat(local).DistinctBy(Path.GetFileName).Select(path => (MetadataReference)MetadataReference.CreateFromFile(path))];
    }

    private static bool IsManaged(string path)
    {
        try
        {
            AssemblyName.GetAssemblyName(path);
            return true;
        }
        catch (BadImageFormatException)
        {
            return false;
        }
    }
}
