using System.Text.Json.Serialization;
using System.Text.Json;

namespace StreamingLoader.Internal;

[JsonSerializable(typeof(FolderWatchPosition))]
internal sealed partial class FolderWatchPositionJson : JsonSerializerContext;
