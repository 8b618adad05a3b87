namespace StreamingLoader.Internal;

/// <summary>The <see cref="SampleDisposer{T}"/> of a disposable type: a constrained call, so a struct is not boxed.</summary>
internal sealed class DisposableSampleDisposer<T> : SampleDisposer<T>
    where T : IDisposable
{
    public override void Dispose(ref T item) => item.Dispose();
}
