using System.Buffers.Binary;
using System.IO.Compression;
using StreamingLoader.Datasets;

namespace StreamingLoader.Samples.Tests;

/// <summary>Writes small IDX files (plain or gzip'd) into a temporary folder that is deleted on dispose.</summary>
internal sealed class IdxFiles : IDisposable
{
    public IdxFiles()
    {
        Folder = Path.Combine(Path.GetTempPath(), "idx-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Folder);
    }

    public string Folder { get; }

    /// <summary>The IDX bytes of <paramref name="data"/> (already big-endian) with a header of type and dimensions.</summary>
    public static byte[] Idx(byte typeCode, int[] dimensions, byte[] data)
    {
        var bytes = new byte[4 + (4 * dimensions.Length) + data.Length];
        bytes[2] = typeCode;
        bytes[3] = (byte)dimensions.Length;
        for (var d = 0; d < dimensions.Length; d++)
        {
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + (4 * d)), dimensions[d]);
        }

        data.CopyTo(bytes, 4 + (4 * dimensions.Length));
        return bytes;
    }

    /// <summary>n images of rows × cols whose pixel k of image i is (i * 31 + k) mod 256.</summary>
    public static byte[] Images(int n, int rows, int cols)
    {
        var data = new byte[n * rows * cols];
        for (var i = 0; i < n; i++)
        {
            for (var k = 0; k < rows * cols; k++)
            {
                data[(i * rows * cols) + k] = (byte)(((i * 31) + k) % 256);
            }
        }

        return Idx(0x08, [n, rows, cols], data);
    }

    /// <summary>n unsigned-byte labels: i mod 10.</summary>
    public static byte[] Labels(int n) => Idx(0x08, [n], [.. Enumerable.Range(0, n).Select(i => (byte)(i % 10))]);

    public string Write(string name, byte[] bytes, bool gzip = false)
    {
        var path = Path.Combine(Folder, name);
        if (gzip)
        {
            using var file = File.Create(path);
            using var zip = new GZipStream(file, CompressionLevel.Fastest);
            zip.Write(bytes);
        }
        else
        {
            File.WriteAllBytes(path, bytes);
        }

        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
