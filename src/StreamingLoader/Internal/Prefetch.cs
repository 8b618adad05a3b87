using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace StreamingLoader.Internal;

/// <summary>Cache prefetch hints for gathers in random order.</summary>
internal static class Prefetch
{
    /// <summary>Asks the CPU to fetch <paramref name="length"/> elements of <paramref name="array"/> from <paramref name="start"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Row<T>(T[] array, int start, int length)
        where T : unmanaged
    {
        if (Sse.IsSupported && (uint)start < (uint)array.Length)
        {
            Span(new ReadOnlySpan<T>(array, start, Math.Min(length, array.Length - start)));
        }
    }

    /// <summary>Asks the CPU to fetch the cache lines of <paramref name="span"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void Span<T>(ReadOnlySpan<T> span)
        where T : unmanaged
    {
        if (!Sse.IsSupported || span.IsEmpty)
        {
            return;
        }

        // A hint only: prefetching an address the GC has since moved does no harm.
        var start = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(span));
        var bytes = span.Length * sizeof(T);
        for (var offset = 0; offset < bytes; offset += 64)
        {
            Sse.Prefetch0(start + offset);
        }
    }
}
