using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace StreamingLoader.Internal;

internal sealed class IterableSource<T>(Func<CancellationToken, IAsyncEnumerable<T>> open, bool reenumerable, object? origin = null) : IterableSourceBase
{
    public override Internal.ISelfPositionedSource? SelfPositioned => origin as Internal.ISelfPositionedSource;

    public override IShapedDataset? Shape => null;

    public override bool Reenumerable => reenumerable;

    public IAsyncEnumerable<T> Open(CancellationToken cancellationToken) => open(cancellationToken);
}
