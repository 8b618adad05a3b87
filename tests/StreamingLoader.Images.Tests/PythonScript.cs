using System.Diagnostics;
using System.Text.Json;

namespace StreamingLoader.Images.Tests;

/// <summary>Runs one of the test scripts with Debian's python3 (PIL, torchvision) into a new temporary folder.</summary>
internal static class PythonScript
{
    public static (string Root, JsonElement Manifest) Run(string script, string prefix, string manifest)
    {
        var root = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var path = Path.Combine(AppContext.BaseDirectory, script);
        using var python = Process.Start(new ProcessStartInfo("/usr/bin/python3", [path, root]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stderr = python.StandardError.ReadToEndAsync();
        python.StandardOutput.ReadToEnd();
        python.WaitForExit();
        if (python.ExitCode != 0)
        {
            throw new InvalidOperationException($"{script} failed ({python.ExitCode}); it needs Debian's python3-torchvision (scripts/test.sh installs it): {stderr.Result}");
        }

        return (root, JsonDocument.Parse(File.ReadAllText(Path.Combine(root, manifest))).RootElement);
    }
}
