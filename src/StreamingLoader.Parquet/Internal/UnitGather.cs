using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using StreamingLoader.Batching;
using StreamingLoader.Shards.Internal;

namespace StreamingLoader.Parquet.Internal;

/// <summary>
/// Copies rows from decoded units straight into a batch's tensors (no row objects): first the units of a run of rows
/// are resolved and held, then each row is copied while the rows a few places ahead are fetched into the CPU cache,
/// since rows come in shuffled order from several units.
/// </summary>
internal static unsafe class UnitGather
{
    private const int MaxHeld = 16;
    private const int Ahead = 8;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Gather(ReadOnlySpan<long> indices, Batch batch, UnitTable units, UnitCache cache, ColumnCollator collator, Action<int> reached)
    {
        var columns = collator.Schema.Columns;
        Span<int> tensorColumns = stackalloc int[columns.Length];
        var tensorCount = 0;
        for (var c = 0; c < columns.Length; c++)
        {
            if (columns[c].Spec is not null)
            {
                tensorColumns[tensorCount++] = c;
            }
        }

        tensorColumns = tensorColumns[..tensorCount];
        Span<int> heldUnits = stackalloc int[MaxHeld];
        var heldData = new HeldUnits();
        var places = ArrayPool<int>.Shared.Rent(indices.Length * 2);
        var held = 0;
        try
        {
            for (var start = 0; start < indices.Length;)
            {
                // Resolve a run of rows whose units fit in the held set.
                var end = start;
                for (; end < indices.Length; end++)
                {
                    var index = (int)indices[end];
                    if ((uint)index >= (uint)units.Samples)
                    {
                        throw new ArgumentOutOfRangeException(nameof(indices), index, $"The dataset has {units.Samples} rows.");
                    }

                    var unit = units.UnitOf(index);
                    var slot = heldUnits[..held].IndexOf(unit);
                    if (slot < 0)
                    {
                        if (held == MaxHeld)
                        {
                            break;
                        }

                        reached(unit);
                        heldData[held] = cache.Acquire(unit);
                        heldUnits[held] = unit;
                        slot = held++;
                    }

                    places[2 * end] = slot;
                    places[(2 * end) + 1] = index - units.FirstSample(unit);
                }

                Copy(start, end, places, ref heldData, columns, tensorColumns, batch, collator);
                for (var h = 0; h < held; h++)
                {
                    cache.Release(heldUnits[h]);
                }

                held = 0;
                start = end;
            }
        }
        finally
        {
            for (var h = 0; h < held; h++)
            {
                cache.Release(heldUnits[h]);
            }

            ArrayPool<int>.Shared.Return(places);
        }
    }

    /// <summary>
    /// Copies rows [start, end) into the batch. The gather path only serves fixed-shape tensors, so a row of tensor
    /// column t lies at <c>Values + row × rowBytes[t]</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Copy(int start, int end, int[] places, ref HeldUnits held, ResolvedColumn[] columns, ReadOnlySpan<int> tensorColumns, Batch batch, ColumnCollator collator)
    {
        Span<int> rowBytes = stackalloc int[tensorColumns.Length];
        Span<bool> asIs = stackalloc bool[tensorColumns.Length];
        for (var t = 0; t < tensorColumns.Length; t++)
        {
            var column = columns[tensorColumns[t]];
            rowBytes[t] = column.PerRow * column.StoredSize;
            asIs[t] = column.CopiesAsIs;
        }

        for (var i = start; i < end; i++)
        {
            if (Sse.IsSupported && i + Ahead < end)
            {
                var ahead = held[places[2 * (i + Ahead)]]!;
                var aheadRow = places[(2 * (i + Ahead)) + 1];
                for (var t = 0; t < tensorColumns.Length; t++)
                {
                    var address = ahead.Columns[tensorColumns[t]].Values + ((long)aheadRow * rowBytes[t]);
                    for (var offset = 0; offset < rowBytes[t]; offset += 64)
                    {
                        Sse.Prefetch0(address + offset);
                    }
                }
            }

            var unit = held[places[2 * i]]!;
            var row = places[(2 * i) + 1];
            for (var t = 0; t < tensorColumns.Length; t++)
            {
                var bytes = rowBytes[t];
                var source = unit.Columns[tensorColumns[t]].Values + ((long)row * bytes);
                var tensor = batch.TensorAt(t);
                if (asIs[t])
                {
                    Buffer.MemoryCopy(source, tensor.Data + ((long)i * bytes), bytes, bytes);
                }
                else
                {
                    collator.WriteFixed(t, new ReadOnlySpan<byte>(source, bytes), tensor, i);
                }
            }
        }
    }

    /// <summary>The units a gather holds, beside their unit numbers on the stack.</summary>
    [InlineArray(MaxHeld)]
    private struct HeldUnits
    {
        private ColumnUnit? _first;
    }
}
