namespace StreamingLoader.Internal;

/// <summary>
/// Disposes samples whose type implements <see cref="IDisposable"/> (a tokenized text holding a pooled buffer) once
/// the loader is done with them: written into a batch, rejected, dropped, or still held when the loader stops. Only
/// samples a transform of the loader made are the loader's (a transform owns its input, the loader its output); a
/// dataset's or a source's own items are left to them, so an in-memory list of samples can be read epoch after epoch.
/// For any other sample type <see cref="Needed"/> is false, which the JIT folds, so the calls cost nothing.
/// </summary>
/// <remarks>
/// A struct is disposed through a constrained call (<see cref="SampleDisposer{T}"/>), without boxing, and the slot it
/// was held in is cleared, so no copy the loader keeps is disposed twice.
/// </remarks>
internal static class SampleDisposal<T>
{
    /// <summary>Whether samples of <typeparamref name="T"/> are disposed.</summary>
    public static readonly bool Needed = typeof(IDisposable).IsAssignableFrom(typeof(T));

    private static readonly SampleDisposer<T>? s_disposer = Needed
        ? (SampleDisposer<T>)Activator.CreateInstance(typeof(DisposableSampleDisposer<>).MakeGenericType(typeof(T)))!
        : null;

    /// <summary>Disposes <paramref name="item"/> and clears its slot.</summary>
    public static void Dispose(ref T item)
    {
        if (!Needed)
        {
            return;
        }

        var held = item;
        item = default!;
        if (held is not null)
        {
            s_disposer!.Dispose(ref held);
        }
    }

    /// <summary>Disposes every item of <paramref name="items"/> and clears them.</summary>
    public static void DisposeAll(Span<T> items)
    {
        if (!Needed)
        {
            return;
        }

        for (var i = 0; i < items.Length; i++)
        {
            Dispose(ref items[i]);
        }
    }
}
