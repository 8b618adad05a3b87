using System.Text.Json;
using System.Text.Json.Serialization;

namespace StreamingLoader;

/// <summary>
/// The files of a watched folder already consumed, by name, in arrival order: save it with a checkpoint and pass it
/// back to <see cref="FolderWatch"/> so those files are not read again.
/// </summary>
/// <param name="Consumed">The names of the files consumed.</param>
public sealed record FolderWatchState(IReadOnlyList<string> Consumed)
{
    /// <summary>Serializes the state as JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, FolderWatchStateJson.Default.FolderWatchState);

    /// <summary>Reads a state written by <see cref="ToJson"/>.</summary>
    public static FolderWatchState FromJson(string json) =>
        JsonSerializer.Deserialize(json, FolderWatchStateJson.Default.FolderWatchState) ?? throw new JsonException("The JSON holds no folder watch state.");
}

[JsonSerializable(typeof(FolderWatchState))]
internal sealed partial class FolderWatchStateJson : JsonSerializerContext;
