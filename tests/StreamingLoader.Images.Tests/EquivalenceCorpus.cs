using System.Runtime.InteropServices;
using System.Text.Json;

namespace StreamingLoader.Images.Tests;

/// <summary>
/// Runs equivalence.py once: an image of every class the library decodes, with photo-like content at several sizes,
/// and torchvision's Resize(256) + CenterCrop(224) + ToTensor + Normalize output on each.
/// </summary>
public sealed class EquivalenceCorpus : IDisposable
{
    public EquivalenceCorpus() => (Root, Manifest) = PythonScript.Run("equivalence.py", "sl-equivalence-", "equivalence.json");

    public string Root { get; }

    public JsonElement Manifest { get; }

    public IEnumerable<JsonElement> Images => Manifest.GetProperty("images").EnumerateArray();

    public float[] Load(string file) => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(Path.Combine(Root, "ref", file))).ToArray();

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
