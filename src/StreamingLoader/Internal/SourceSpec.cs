using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace StreamingLoader.Internal;

/// <summary>Where samples come from; the loader asks it for chunks of samples, epoch after epoch.</summary>
internal abstract class SourceSpec
{
    public abstract IShapedDataset? Shape { get; }
}
