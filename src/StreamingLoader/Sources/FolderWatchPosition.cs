using System.Text.Json.Serialization;
using System.Text.Json;

namespace StreamingLoader.Sources;

/// <summary>
/// The files of a watched folder already consumed, by name, in arrival order: save it with a checkpoint and pass it
/// back to <see cref="FolderWatch"/> so those files are not read again.
/// </summary>
/// <param name="Consumed">The names of the files consumed.</param>
public sealed record FolderWatchPosition(IReadOnlyList<string> Consumed)
{
    /// <summary>Serializes the position as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, FolderWatchPositionJson.Default.FolderWatchPosition);

    /// <summary>Reads a position written by <see cref="ToJson"/>.</summary>
    public static FolderWatchPosition FromJson(string json) =>
        JsonSerializer.Deserialize(json, FolderWatchPositionJson.Default.FolderWatchPosition) ?? throw new JsonException("The JSON holds no folder watch position.");
}
