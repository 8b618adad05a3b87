using System.Diagnostics;
using System.Text.Json;

namespace StreamingLoader.Images.Tests;

/// <summary>
/// Runs reference.py once with Debian's python3-torchvision: test images and torchvision's outputs on them.
/// </summary>
public sealed class TorchvisionReference : IDisposable
{
    public TorchvisionReference()
    {
        Root = Path.Combine(Path.GetTempPath(), "sl-images-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
        var script = Path.Combine(AppContext.BaseDirectory, "reference.py");
        using var python = Process.Start(new ProcessStartInfo("/usr/bin/python3", [script, Root]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stderr = python.StandardError.ReadToEndAsync();
        python.StandardOutput.ReadToEnd();
        python.WaitForExit();
        if (python.ExitCode != 0)
        {
            throw new InvalidOperationException($"reference.py failed ({python.ExitCode}); it needs Debian's python3-torchvision (scripts/test.sh installs it): {stderr.Result}");
        }

        Manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(Root, "manifest.json"))).RootElement;
    }

    public string Root { get; }

    public string Folder => Path.Combine(Root, "folder");

    public JsonElement Manifest { get; }

    public float[] Load(string file) =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(Path.Combine(Root, "ref", file))).ToArray();

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
