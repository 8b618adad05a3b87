using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace StreamingLoader.Internal;

/// <summary>What the option checks need to know of a map-style source, whatever its sample type.</summary>
internal abstract class MapSourceBase : SourceSpec
{
    public abstract bool HasSampler { get; }

    public abstract bool HasBatchSampler { get; }
}
