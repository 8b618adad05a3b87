using System.Text.Json.Serialization;
using System.Text.Json;

namespace StreamingLoader.Sources;

/// <summary>
/// Where a tailed file was read up to: the file (by device and inode, and a fingerprint of its first bytes, so a
/// renamed file is still found and a new file under the old name is not mistaken for it) and the byte offset and
/// line number after the last line consumed. Save it with a checkpoint (<see cref="ToJson"/>) and pass it back to
/// <see cref="FileTail"/> to go on with the next line.
/// </summary>
/// <param name="Path">The path that was followed.</param>
/// <param name="Device">The file's device (0 where the platform does not tell).</param>
/// <param name="Inode">The file's inode (0 where the platform does not tell).</param>
/// <param name="FingerprintLength">How many leading bytes <paramref name="Fingerprint"/> covers.</param>
/// <param name="Fingerprint">A hash of the file's first <paramref name="FingerprintLength"/> bytes.</param>
/// <param name="Offset">The byte offset just after the last line consumed.</param>
/// <param name="LineNumber">The number of that line in its file, from 1 (the header counts).</param>
public sealed record TailPosition(string Path, ulong Device, ulong Inode, int FingerprintLength, ulong Fingerprint, long Offset, long LineNumber)
{
    /// <summary>Serializes the position as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, TailPositionJson.Default.TailPosition);

    /// <summary>Reads a position written by <see cref="ToJson"/>.</summary>
    public static TailPosition FromJson(string json) =>
        JsonSerializer.Deserialize(json, TailPositionJson.Default.TailPosition) ?? throw new JsonException("The JSON holds no tail position.");

    internal FileId Id => new(Device, Inode);
}
