using System.Formats.Tar;
using SkiaSharp;

namespace StreamingLoader.Shards.Tests;

/// <summary>
/// WebDataset tar shards made by the tests: sample i is <c>sample-{i:D5}.jpg</c>, a real JPEG (SkiaSharp) of one gray
/// level, <see cref="Gray"/>(i), with <c>sample-{i:D5}.cls</c> holding i (or a .json {"label": i}); so a batch
/// proves which image came with which label.
/// </summary>
internal static class TarShards
{
    public const int Size = 16;

    /// <summary>The gray level of sample <paramref name="i"/>'s image.</summary>
    public static int Gray(long i) => (int)(10 + (7 * i) % 230);

    public static byte[] Jpeg(int gray)
    {
        using var bitmap = new SKBitmap(Size, Size);
        bitmap.Erase(new SKColor((byte)gray, (byte)gray, (byte)gray));
        using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 95);
        return data.ToArray();
    }

    /// <summary>Writes <paramref name="shards"/> tars of <paramref name="perShard"/> samples; returns each member's header offset by name.</summary>
    public static Dictionary<string, long> Write(string folder, int shards, int perShard, bool json = false)
    {
        Directory.CreateDirectory(folder);
        var offsets = new Dictionary<string, long>();
        for (var s = 0; s < shards; s++)
        {
            using var file = File.Create(Path.Combine(folder, $"shard-{s:D3}.tar"));
            using var writer = new TarWriter(file, TarEntryFormat.Ustar, leaveOpen: true);
            for (var i = s * perShard; i < (s + 1) * perShard; i++)
            {
                var label = json ? $"{{\"label\": {i}, \"source\": \"test\"}}" : i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                foreach (var (name, data) in new[] { ($"sample-{i:D5}.jpg", Jpeg(Gray(i))), ($"sample-{i:D5}.{(json ? "json" : "cls")}", System.Text.Encoding.UTF8.GetBytes(label)) })
                {
                    file.Flush();
                    offsets[name] = file.Position;
                    writer.WriteEntry(new UstarTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(data) });
                }
            }
        }

        return offsets;
    }

    /// <summary>Reads an epoch: labels in order, checking each image is its label's gray level; dead letters come with the loader.</summary>
    public static async Task<List<long>> ReadEpochAsync(DataLoader loader)
    {
        var labels = new List<long>();
        await foreach (var batch in loader.ReadEpochAsync())
        {
            using (batch)
            {
                var features = batch.Features.AsSpan<float>();
                var perImage = 3 * Size * Size;
                for (var i = 0; i < batch.Count; i++)
                {
                    var label = batch.Labels.AsSpan<long>()[i];
                    var image = features.Slice(i * perImage, perImage);
                    var mean = 0.0;
                    foreach (var value in image)
                    {
                        mean += value;
                    }

                    mean = mean * 255 / perImage;
                    Assert.True(Math.Abs(mean - Gray(label)) < 3, $"Sample {label}: mean gray {mean:F1}, expected {Gray(label)}.");
                    labels.Add(label);
                }
            }
        }

        return labels;
    }
}
