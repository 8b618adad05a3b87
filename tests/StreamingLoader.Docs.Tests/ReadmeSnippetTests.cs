namespace StreamingLoader.Docs.Tests;

public class ReadmeSnippetTests
{
    public static TheoryData<string> Snippets() => [.. Snippet.All.Select(s => s.ToString())];

    [Theory]
    [MemberData(nameof(Snippets))]
    public void Snippet_AsItStands_Compiles(string where)
    {
        var snippet = Snippet.All.Single(s => s.ToString() == where);
        var (_, errors) = SnippetCompiler.Compile(snippet);
        Assert.True(errors.Count == 0, $"{where} does not compile:{Environment.NewLine}{string.Join(Environment.NewLine, errors)}");
    }

    [Fact]
    public async Task Readme_FirstSnippet_Runs()
    {
        var first = Snippet.All.First(s => s.File == "README.md");
        var (assembly, errors) = SnippetCompiler.Compile(first);
        Assert.True(assembly is not null, string.Join(Environment.NewLine, errors));
        var output = new StringWriter();
        var original = Console.Out;
        Console.SetOut(output);
        try
        {
            var entry = assembly!.EntryPoint!;
            var result = entry.Invoke(null, entry.GetParameters().Length == 0 ? null : [Array.Empty<string>()]);
            if (result is Task running)
            {
                await running;
            }
        }
        finally
        {
            Console.SetOut(original);
        }

        Assert.Contains("epoch", output.ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Readmes_HaveSnippets()
    {
        // A path mistake would make every theory above vacuous.
        Assert.True(Snippet.All.Count >= 10, $"only {Snippet.All.Count} snippets found under {Snippet.Root}");
        Assert.Contains(Snippet.All, s => s.File == "README.md");
    }
}
