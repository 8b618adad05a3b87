using System.Runtime.CompilerServices;

namespace StreamingLoader.Batching;

/// <summary>
/// Writes samples into a batch's tensors (PyTorch's <c>collate_fn</c>). <see cref="Collate"/> has the built-in ones:
/// fixed-shape tensors, and <see cref="Collate.Fields{T}"/> for any named tensors with variable-length fields;
/// subclass it for a layout of your own.
/// </summary>
/// <typeparam name="T">The sample type.</typeparam>
/// <remarks>
/// Implementations run on several threads at once, each on its own batch, and must not allocate per sample. With
/// variable-length fields the loader first asks each sample's lengths (<see cref="MeasureLengths"/>), pads the batch
/// to them, then asks for each sample to be written: write a variable-length field with
/// <see cref="BatchTensor.WriteSequence{T}"/>, which truncates and pads as the field's <see cref="SequencePadding"/> says.
/// A collator only reads its samples: disposable ones that a transform made are disposed by the loader after
/// <see cref="Write"/> returns (see <see cref="PipelineBuilder{T}.Transform{TOut}"/>).
/// </remarks>
public abstract class Collator<T>
{
    /// <summary>Returns the layout of every batch, given the first sample the loader sees.</summary>
    public abstract BatchLayout GetLayout(T firstSample);

    /// <summary>
    /// Writes <paramref name="sample"/>'s length in each variable-length field of the layout (in the layout's order,
    /// counted in steps of the variable dimension) into <paramref name="lengths"/>. Only called when the layout has
    /// variable-length fields. Throw to reject the sample, as in <see cref="Write"/>.
    /// </summary>
    public virtual void MeasureLengths(in T sample, Span<int> lengths) =>
        throw new NotSupportedException($"{GetType().Name} declares variable-length fields but does not override MeasureLengths.");

    /// <summary>
    /// Writes <paramref name="sample"/> into slot <paramref name="slot"/> of <paramref name="batch"/>
    /// (<c>batch["image"].Sample&lt;float&gt;(slot)</c>, <c>batch["input_ids"].WriteSequence(slot, ids)</c>). Throw to
    /// reject a sample: the loader reports it with the sample's index, or drops it under <see cref="ErrorPolicy.Skip"/>.
    /// </summary>
    public abstract void Write(in T sample, int slot, Batch batch);

    /// <summary>Hints that <paramref name="sample"/> is written soon, so its memory can be fetched ahead.</summary>
    internal virtual void Prefetch(in T sample)
    {
    }
}
