using System.Text.Json.Serialization;
using System.Text.Json;

namespace StreamingLoader.Internal;

[JsonSerializable(typeof(TailPosition))]
internal sealed partial class TailPositionJson : JsonSerializerContext;
