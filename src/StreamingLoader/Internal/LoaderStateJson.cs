using System.Text.Json.Serialization;
using System.Text.Json;

namespace StreamingLoader.Internal;

[JsonSerializable(typeof(LoaderState))]
internal sealed partial class LoaderStateJson : JsonSerializerContext;
