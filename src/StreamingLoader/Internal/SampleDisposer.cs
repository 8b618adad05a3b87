namespace StreamingLoader.Internal;

/// <summary>Disposes a sample of a type known only as a type parameter (see <see cref="SampleDisposal{T}"/>).</summary>
internal abstract class SampleDisposer<T>
{
    public abstract void Dispose(ref T item);
}
