using System.Diagnostics;
using System.Text;

namespace StreamingLoader.Text.Tests;

/// <summary>
/// GPT-2 ids from npm's <c>tiktoken</c> (the WASM build of OpenAI's Rust library, with GPT-2's ranks inside the
/// package) under Debian's Node.js, through <c>tiktoken_reference.js</c>. The package is installed once into a cache
/// folder (<c>~/.cache/streamingloader/tiktoken</c>, or <c>STREAMINGLOADER_TIKTOKEN_DIR</c>; scripts/test.sh does it
/// first), after which the tests need no network.
/// </summary>
internal static class TiktokenReference
{
    /// <summary>The tiktoken release the ids are compared with.</summary>
    public const string Version = "1.0.22";

    private static readonly Lazy<string> s_moduleDir = new(Install);

    public static string ModuleDir => s_moduleDir.Value;

    /// <summary>The folder tiktoken is installed in (its node_modules is below it).</summary>
    public static string CacheDir =>
        Environment.GetEnvironmentVariable("STREAMINGLOADER_TIKTOKEN_DIR") is { Length: > 0 } dir
            ? dir
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "streamingloader", "tiktoken");

    /// <summary>
    /// tiktoken's ids for each document (raw bytes, decoded as JavaScript decodes them); in <c>json</c> mode each
    /// document is a JSON Lines line whose "text" field is encoded. A document JavaScript rejects gives its message.
    /// </summary>
    public static IReadOnlyList<(int[]? Ids, string? Error)> Encode(IReadOnlyList<byte[]> documents, string mode = "text")
    {
        var work = Directory.CreateTempSubdirectory("tiktoken-ref-");
        try
        {
            var input = Path.Combine(work.FullName, "in.txt");
            var output = Path.Combine(work.FullName, "out.txt");
            File.WriteAllLines(input, documents.Select(Convert.ToBase64String));
            Run("node", [Path.Combine(AppContext.BaseDirectory, "tiktoken_reference.js"), ModuleDir, mode, input, output], TimeSpan.FromMinutes(5));
            var lines = File.ReadAllLines(output);
            Assert.Equal(documents.Count, lines.Length);
            return [.. lines.Select(ParseLine)];
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static (int[]?, string?) ParseLine(string line) =>
        line.StartsWith('!')
            ? (null, line[1..].Trim())
            : (line.Length == 0 ? [] : [.. line.Split(' ').Select(int.Parse)], null);

    private static string Install()
    {
        var dir = CacheDir;
        var package = Path.Combine(dir, "node_modules", "tiktoken", "package.json");
        if (File.Exists(package) && File.ReadAllText(package).Contains($"\"version\": \"{Version}\"", StringComparison.Ordinal))
        {
            return dir;
        }

        Directory.CreateDirectory(dir);
        Run("npm", ["install", "--prefix", dir, "--no-audit", "--no-fund", "--no-save", $"tiktoken@{Version}"], TimeSpan.FromMinutes(5));
        Assert.True(File.Exists(package), $"npm did not install tiktoken {Version} into {dir}.");
        return dir;
    }

    private static void Run(string program, IReadOnlyList<string> arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"'{program}' is not on PATH: the reference ids need Debian's nodejs and npm (scripts/test.sh installs them).", ex);
        }

        using (process)
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(timeout))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{program} {string.Join(' ', arguments)} ran past {timeout}.");
            }

            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{stdout.Result}\n{stderr.Result}");
            }
        }
    }

    /// <summary>A document shown in a failure message: its text with control and non-ASCII characters escaped.</summary>
    public static string Show(byte[] document)
    {
        var text = Encoding.UTF8.GetString(document);
        var shown = new StringBuilder();
        foreach (var rune in text.EnumerateRunes())
        {
            if (rune.Value is >= 0x20 and < 0x7F)
            {
                shown.Append((char)rune.Value);
            }
            else
            {
                shown.Append(rune.IsBmp ? $"\\u{rune.Value:X4}" : $"\\U{rune.Value:X8}");
            }

            if (shown.Length > 200)
            {
                shown.Append('…');
                break;
            }
        }

        return shown.ToString();
    }
}
