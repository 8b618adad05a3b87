using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace StreamingLoader.Internal;

/// <summary>What the option checks need to know of an iterable source, whatever its item type.</summary>
internal abstract class IterableSourceBase : SourceSpec
{
    /// <summary>Gets whether each epoch reads the source anew; a channel is read once.</summary>
    public abstract bool Reenumerable { get; }

    /// <summary>Gets the source when it keeps its own position (a tail, a folder watch, a broker); null otherwise.</summary>
    public abstract Internal.ISelfPositionedSource? SelfPositioned { get; }
}
