using System.Buffers;
using System.Runtime.CompilerServices;

namespace StreamingLoader.Internal;

/// <summary>
/// Collates a chunk into a pooled batch: measures the variable-length fields of its samples, pads the batch to them
/// (growing the buffer where it must), has the collator write each sample into its slot, then writes the masks and
/// lengths the layout asks for. A sample that fails to measure or write is rejected on its own, by the error policy.
/// With <c>disposesSamples</c> (disposable samples made by the loader's transforms: <see cref="SampleDisposal{T}"/>), each
/// sample is disposed once written or rejected.
/// </summary>
internal sealed class BatchWriter<T>(Collator<T> collator, BatchPool pool, ErrorHandler errors, bool disposesSamples)
{
    /// <summary>How many samples ahead collation asks the CPU to fetch: random reads hide their latency.</summary>
    private const int PrefetchDistance = 16;

    /// <summary>
    /// Measures the chunk's samples (rejecting those that fail or exceed a maximum they may not be cut to) and returns
    /// the bytes each tensor needs for the batch, with each variable-length field's padded length; null when the
    /// layout has no variable-length field.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Measured? Measure(Chunk<T> chunk, InFlightWork.Slot slot)
    {
        var layout = pool.Layout!;
        if (!layout.HasVariableLength)
        {
            return null;
        }

        var variable = layout.Variable;
        var lengths = ArrayPool<int>.Shared.Rent(Math.Max(1, chunk.Count * variable.Length));
        var longest = new int[variable.Length];
        var items = chunk.Items;
        for (var i = 0; i < chunk.Count;)
        {
            var row = lengths.AsSpan(i * variable.Length, variable.Length);
            try
            {
                slot.At(PipelineStage.Collate, chunk.Indices[i]);
                collator.MeasureLengths(in items[i], row);
                for (var v = 0; v < variable.Length; v++)
                {
                    row[v] = Truncated(layout.Tensors[variable[v]], row[v]);
                    longest[v] = Math.Max(longest[v], row[v]);
                }

                i++;
            }
            catch (Exception ex) when (errors.IsSampleError(ex))
            {
                var index = chunk.Indices[i];
                var error = Named(in items[i], ex);
                if (disposesSamples)
                {
                    SampleDisposal<T>.Dispose(ref items[i]);
                }

                chunk.RemoveAt(i);
                errors.Reject(chunk, PipelineStage.Collate, index, error);
            }
        }

        var padded = new int[variable.Length];
        var required = new long[layout.Tensors.Count];
        for (var v = 0; v < variable.Length; v++)
        {
            var spec = layout.Tensors[variable[v]];
            padded[v] = spec.EffectivePadding.PaddedLength(longest[v]);
            required[variable[v]] = (long)chunk.Count * padded[v] * spec.ElementsPerStep * ElementTypes.SizeOf(spec.ElementType);
        }

        for (var t = 0; t < layout.Tensors.Count; t++)
        {
            if (layout.Kinds[t] == TensorKind.Mask)
            {
                required[t] = (long)chunk.Count * padded[Array.IndexOf(variable, layout.Sources[t])] * sizeof(long);
            }
        }

        return new Measured(lengths, padded, required);
    }

    /// <summary>Writes the chunk's samples into <paramref name="batch"/>, rejecting those that fail; returns how many it holds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Write(Chunk<T> chunk, Batch batch, Measured? measured, InFlightWork.Slot slot)
    {
        if (collator is PackingCollator<T> packing)
        {
            try
            {
                return packing.WriteChunk(chunk, batch);
            }
            finally
            {
                if (disposesSamples)
                {
                    chunk.DisposeItems();
                }
            }
        }

        var layout = batch.Layout;
        batch.Reset(chunk.Epoch, chunk.Count);
        if (measured is not null)
        {
            for (var v = 0; v < layout.Variable.Length; v++)
            {
                batch.TensorAt(layout.Variable[v]).SetLength(measured.Padded[v]);
            }

            for (var t = 0; t < layout.Tensors.Count; t++)
            {
                if (layout.Kinds[t] == TensorKind.Mask)
                {
                    batch.TensorAt(t).SetLength(batch.TensorAt(layout.Sources[t]).Shape[1]);
                }
            }
        }

        var indices = batch.IndexBuffer;
        var items = chunk.Items;
        var lengths = batch.Buffer.Lengths;
        var filled = 0;
        for (var i = 0; i < chunk.Count; i++)
        {
            try
            {
                if (i + PrefetchDistance < chunk.Count)
                {
                    collator.Prefetch(in items[i + PrefetchDistance]);
                }

                slot.At(PipelineStage.Collate, chunk.Indices[i]);
                if (measured is not null)
                {
                    // What the collator writes through WriteSequence replaces these.
                    for (var v = 0; v < layout.Variable.Length; v++)
                    {
                        lengths[layout.Variable[v]][filled] = measured.Lengths[(i * layout.Variable.Length) + v];
                    }
                }

                collator.Write(in items[i], filled, batch);
                indices[filled++] = chunk.Indices[i];
            }
            catch (Exception ex) when (errors.IsSampleError(ex))
            {
                errors.Reject(chunk, PipelineStage.Collate, chunk.Indices[i], Named(in items[i], ex));
            }
            finally
            {
                if (disposesSamples)
                {
                    // Written or rejected, the sample is done with (a tokenized text's pooled buffer goes back).
                    SampleDisposal<T>.Dispose(ref items[i]);
                    chunk.DisposedUpTo = i + 1;
                }
            }
        }

        batch.SetCount(filled);
        if (measured is not null)
        {
            WriteDerived(batch, filled);
        }

        return filled;
    }

    /// <summary>The error, its message starting with the sample's origin (file and line) when the sample knows it and the message does not say it.</summary>
    private static Exception Named(in T item, Exception error) =>
        item is ISampleOrigin { Origin: { } origin } && !error.Message.StartsWith(origin, StringComparison.Ordinal)
            ? new InvalidDataException($"{origin}: {error.Message}", error)
            : error;

    /// <summary>A sample's length in a field once cut to its maximum; a length it may not be cut to rejects the sample.</summary>
    private static int Truncated(TensorSpec spec, int length)
    {
        var padding = spec.EffectivePadding;
        if (length < 0)
        {
            throw new InvalidDataException($"Field '{spec.Name}': the collator measured a length of {length}.");
        }

        if (length <= padding.MaxLength)
        {
            return length;
        }

        return padding.Truncation != Truncation.Reject
            ? padding.MaxLength
            : throw new InvalidDataException(
                $"Field '{spec.Name}' has {length} steps, more than its maximum of {padding.MaxLength} (SequencePadding.MaxLength): raise the maximum, or set SequencePadding.Truncation to Right or Left to cut it.");
    }

    /// <summary>Writes the masks and lengths from what was written, and counts the padding.</summary>
    private static void WriteDerived(Batch batch, int count)
    {
        var layout = batch.Layout;
        var lengths = batch.Buffer.Lengths;
        for (var v = 0; v < layout.Variable.Length; v++)
        {
            var field = layout.Variable[v];
            var padded = batch.TensorAt(field).Shape[1];
            long steps = 0;
            foreach (var length in lengths[field].AsSpan(0, count))
            {
                steps += length;
            }

            batch.SequenceSteps += steps;
            batch.PaddingSteps += ((long)count * padded) - steps;
        }

        for (var t = 0; t < layout.Tensors.Count; t++)
        {
            if (layout.Kinds[t] == TensorKind.Data)
            {
                continue;
            }

            var source = lengths[layout.Sources[t]].AsSpan(0, count);
            var tensor = batch.TensorAt(t);
            if (layout.Kinds[t] == TensorKind.Lengths)
            {
                var output = tensor.AsSpan<long>();
                for (var s = 0; s < count; s++)
                {
                    output[s] = source[s];
                }

                continue;
            }

            var right = tensor.Spec.EffectivePadding.Side == PaddingSide.Right;
            for (var s = 0; s < count; s++)
            {
                var row = tensor.SlotUnchecked<long>(s);
                var length = Math.Min(source[s], row.Length);
                (right ? row[..length] : row[(row.Length - length)..]).Fill(1);
                (right ? row[length..] : row[..(row.Length - length)]).Clear();
            }
        }
    }

    /// <summary>A chunk's measurements: each sample's lengths (rented; see <see cref="Return"/>), padded lengths and bytes per tensor.</summary>
    internal sealed class Measured(int[] lengths, int[] padded, long[] required)
    {
        public int[] Lengths => lengths;

        public int[] Padded => padded;

        public long[] Required => required;

        public void Return() => ArrayPool<int>.Shared.Return(lengths);
    }
}
