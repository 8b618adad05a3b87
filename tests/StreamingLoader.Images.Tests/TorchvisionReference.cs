using System.Text.Json;

namespace StreamingLoader.Images.Tests;

/// <summary>
/// Runs reference.py once with Debian's python3-torchvision: test images and torchvision's outputs on them.
/// </summary>
public sealed class TorchvisionReference : IDisposable
{
    public TorchvisionReference()
    {
        (Root, Manifest) = PythonScript.Run("reference.py", "sl-images-", "manifest.json");
    }

    public string Root { get; }

    public string Folder => Path.Combine(Root, "folder");

    public JsonElement Manifest { get; }

    public float[] Load(string file) =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(Path.Combine(Root, "ref", file))).ToArray();

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
