namespace StreamingLoader.Text.Tests;

/// <summary>Files a test writes, under one temporary folder per test class instance, deleted with it.</summary>
public sealed class TempFiles : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("sl-text-");

    public string Root => _root.FullName;

    public string Write(string name, ReadOnlySpan<byte> bytes)
    {
        var path = Path.Combine(Root, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes.ToArray());
        return path;
    }

    public string Write(string name, string text) => Write(name, System.Text.Encoding.UTF8.GetBytes(text));

    public void Dispose() => _root.Delete(recursive: true);
}
