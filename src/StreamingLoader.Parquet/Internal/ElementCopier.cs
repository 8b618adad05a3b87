using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using StreamingLoader.Batching;

namespace StreamingLoader.Parquet.Internal;

/// <summary>
/// Writes a row's stored values into a batch tensor, converting them to the tensor's element type when it differs
/// (int32 into Int64, float64 into Float32). Bool is stored and written as one byte, 0 or 1.
/// </summary>
internal abstract class ElementCopier
{
    /// <summary>Writes a fixed-shape sample into <paramref name="slot"/>.</summary>
    public abstract void Slot(ReadOnlySpan<byte> source, BatchTensor tensor, int slot);

    /// <summary>Writes a variable-length sample of <paramref name="steps"/> steps, truncated and padded as the tensor's padding says.</summary>
    public abstract void Sequence(ReadOnlySpan<byte> source, BatchTensor tensor, int slot, int steps);

    public static ElementCopier For(ElementType from, ElementType to) => from switch
    {
        ElementType.Float32 => To<float>(to),
        ElementType.Float64 => To<double>(to),
        ElementType.Int32 => To<int>(to),
        ElementType.Int64 => To<long>(to),
        ElementType.UInt8 or ElementType.Bool => To<byte>(to),
        _ => throw new NotSupportedException($"Columns of {from} are not read."),
    };

    private static ElementCopier To<TFrom>(ElementType to)
        where TFrom : unmanaged, INumberBase<TFrom> => to switch
    {
        ElementType.Float32 => new Copier<TFrom, float>(),
        ElementType.Float64 => new Copier<TFrom, double>(),
        ElementType.Float16 => new Copier<TFrom, Half>(),
        ElementType.UInt8 or ElementType.Bool => new Copier<TFrom, byte>(),
        ElementType.Int8 => new Copier<TFrom, sbyte>(),
        ElementType.Int16 => new Copier<TFrom, short>(),
        ElementType.Int32 => new Copier<TFrom, int>(),
        ElementType.Int64 => new Copier<TFrom, long>(),
        _ => throw new NotSupportedException($"Tensors of {to} are not written."),
    };

    private sealed class Copier<TFrom, TTo> : ElementCopier
        where TFrom : unmanaged, INumberBase<TFrom>
        where TTo : unmanaged, INumberBase<TTo>
    {
        public override void Slot(ReadOnlySpan<byte> source, BatchTensor tensor, int slot) =>
            Copy(MemoryMarshal.Cast<byte, TFrom>(source), tensor.SlotUnchecked<TTo>(slot));

        public override void Sequence(ReadOnlySpan<byte> source, BatchTensor tensor, int slot, int steps)
        {
            var destination = tensor.SequenceRow<TTo>(slot, steps, out var skip);
            Copy(MemoryMarshal.Cast<byte, TFrom>(source).Slice(skip * tensor.Spec.ElementsPerStep, destination.Length), destination);
        }

        private static void Copy(ReadOnlySpan<TFrom> source, Span<TTo> destination)
        {
            if (typeof(TFrom) == typeof(TTo))
            {
                MemoryMarshal.Cast<TFrom, TTo>(source).CopyTo(destination);
            }
            else
            {
                TensorPrimitives.ConvertTruncating(source, destination);
            }
        }
    }
}
